"""Words and names for the synthetic corpus.

A few hundred ordinary words give the text its shape; several thousand made-up words,
built from syllables with a seeded generator, give it the long tail of rare terms that a
real archive has (names, places, jargon), so that searches hit a realistic spread of
document frequencies. Everything is plain ASCII letters, which keeps slugs predictable.
"""

import random


def _split(text: str) -> list[str]:
    return text.split()


FUNCTION_WORDS = _split(
    """
the of and to in a that for on with as was said by at from his her it be have has had are
were an this which not but will would after their they also who been more its into than
over about up out when or while before under between against during since through where
could should may might can must there these those such other some most many all any each
both only very just still even now then again already never often
"""
)

NEWS_WORDS = _split(
    """
government minister election parliament president council budget policy report court
police market company bank economy price prices inflation growth trade tax taxes workers
union strike talks deal agreement plan plans project programme service services health
hospital doctors patients school schools teachers students university research study
scientists climate weather flood floods drought rain farmers harvest food water energy
power electricity fuel oil gas coal solar wind transport rail railway road roads bridge
airport port shipping exports imports investment investors shares profit losses debt loan
loans funding spending cuts reform reforms law laws bill vote voters campaign party
parties leader leaders opposition coalition cabinet ministry officials spokesman
statement interview press conference summit meeting visit visitors delegation embassy
border security army soldiers troops defence peace ceasefire conflict crisis refugees aid
charity community residents families children women men people public city town village
region province district county capital coast island river mountain valley forest park
stadium match season league cup final team players coach goal goals victory defeat win
wins championship tournament record fans festival music film theatre museum exhibition
artist artists book books author novel award prize history heritage church mosque temple
court judge trial case lawyer lawyers evidence witness verdict sentence prison appeal
rights freedom media newspaper broadcaster journalists technology internet phone phones
data software startup digital online network satellite space mission launch rocket
vaccine virus disease outbreak cases testing treatment medicine insurance pension
pensions housing homes rent prices construction building buildings land property farm
tourism tourists hotel hotels airline flights passengers traffic accident accidents fire
fires rescue emergency storm storms earthquake damage repairs cost costs jobs employment
unemployment wages salary salaries contract contracts supplier suppliers factory
factories production output demand supply shortage shortages fishing forestry mining
mine mines gold copper minerals license licences permit regulator regulators inquiry
investigation audit accounts figures survey poll polls support critics concerns warning
warnings threat threats risk risks decision decisions proposal proposals review
committee board chairman director chief executive manager staff members volunteers
announced confirmed denied rejected approved signed launched opened closed agreed
expected reported described warned urged called added told asked promised planned
increased reduced raised cut rose fell grew dropped doubled reached returned arrived
left moved began started ended continued remained became showed found said
new old first last next major small large local national regional international global
economic political social public private financial military legal medical annual
monthly weekly early late recent former current future higher lower strong weak
week weeks month months year years day days morning evening night today yesterday
million billion percent half quarter third dozen hundreds thousands
"""
)

FIRST_NAMES = _split(
    """
Amara Brian Chidi Dalia Esther Farid Grace Hassan Imani Jonas Kamau Leila Moses Nadia
Omar Priya Quentin Rosa Samuel Tanya Umar Vera Wanjiru Xavier Yara Zawadi Achieng Bola
Carmen Daniel Elena Fatima Gabriel Hana Ibrahim Joyce Kofi Lucia Mateo Njeri Otieno Pablo
Ruth Sofia Tomas Ursula Victor Wafula Yusuf Zeynep Adrian Beatrice Cyrus Delphine Emeka
Florence Gideon Halima Isaac Juma Kezia Lionel Mercy Nikolai Olga Peter Rania Stefan
Thandiwe Uriel Valentina Wesley Ximena Yvonne Zainab Akosua Baraka Celeste Dmitri Efua
Felix Gloria Henrik Ines Jamal Kwame Lina Mwangi Nuru Oscar Paulina Rashid Selam Tariq
"""
)

LAST_NAMES = _split(
    """
Okonkwo Mutua Odhiambo Haddad Kariuki Mensah Nakamura Oyelaran Petrov Quispe Rahman
Santos Tembo Uchenna Vasquez Wekesa Xu Yilmaz Zulu Abebe Bianchi Chege Demir Eriksen
Fofana Garcia Hoffmann Ilunga Jensen Kamara Lindqvist Mbeki Novak Ochieng Pereira Qureshi
Romero Sithole Tanaka Umeh Varga Wanjala Yamamoto Zapata Achebe Banda Castillo Diallo
Esposito Fischer Gathoni Hussein Ivanova Juarez Keita Lungu Moreno Ndlovu Otieno Park
Ramos Salazar Toure Ulloa Vieira Waweru Yeboah Zimmermann Adeyemi Boateng Coulibaly
Dlamini Eze Ferreira Gomez Hakimi Ibeh Jovanovic Kipchoge Lopez Mwale Nyong Osei Phiri
Rossi Sesay Traore Usman Volkov Wambui Young Zhou Amadi Bello Cisse Dossou Ekwueme Farah
Gitau Hamisi Idowu Joshi Kanu Lemma Maina Njoroge Obi Pillay Rotich Sang Tesfaye
"""
)

AUTHOR_TITLES = [
    "Reporter",
    "Senior Reporter",
    "Correspondent",
    "Foreign Correspondent",
    "Political Editor",
    "Business Reporter",
    "Science Writer",
    "Sports Reporter",
    "Culture Critic",
    "Data Journalist",
    "Photographer",
    "Desk Editor",
]

SECTIONS = [
    "politics",
    "business",
    "world",
    "sport",
    "culture",
    "science",
    "technology",
    "health",
    "opinion",
    "environment",
    "education",
    "local",
]

SOURCES = ["Capital Ledger", "Harbour Times", "Northern Courier", "Daily Meridian", None]

ORGANIZATION_KINDS = [
    "Institute",
    "Bank",
    "Council",
    "Party",
    "Union",
    "Authority",
    "Group",
    "Corporation",
    "Foundation",
    "Alliance",
    "Commission",
    "Agency",
]
EVENT_KINDS = ["Summit", "Festival", "Election", "Marathon", "Conference", "Games", "Talks"]
PLACE_PREFIXES = ["", "", "", "Port ", "North ", "South ", "East ", "West ", "Lake ", "Mount "]

_ONSETS = _split("b c d f g h j k l m n p r s t v w z br ch dr gr kr pr st tr sh th")
_VOWELS = _split("a e i o u a e i o u ai ea ou io")
_CODAS = ["", "", "", "n", "r", "s", "l", "m", "nd", "nt", "sh"]


def pseudo_words(rng: random.Random, count: int, taken: set[str]) -> list[str]:
    """``count`` distinct made-up words of two to four syllables, none in ``taken``."""
    words: list[str] = []
    seen = set(taken)
    while len(words) < count:
        syllables = rng.choice((2, 2, 3, 3, 3, 4))
        word = "".join(rng.choice(_ONSETS) + rng.choice(_VOWELS) for _ in range(syllables))
        word += rng.choice(_CODAS)
        if 4 <= len(word) <= 14 and word not in seen:
            seen.add(word)
            words.append(word)
    return words
