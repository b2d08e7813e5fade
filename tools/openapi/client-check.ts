// A small client written against the types openapi-typescript generates from the document
// (build/newsdesk-api.d.ts). `make lint` compiles it with --strict: if the document stops
// describing these shapes, or describes them too loosely, this stops compiling.
import type { components, paths } from "./build/newsdesk-api";

type Article = components["schemas"]["ArticlePublic"];
// List items carry only the keys `fields` asks for; `id` is always there.
type ArticleItem = components["schemas"]["ArticleItem"];
type Problem = components["schemas"]["Problem"];
type ArticleList =
  paths["/v1/articles"]["get"]["responses"][200]["content"]["application/json"];
type ArticleQuery = NonNullable<paths["/v1/articles"]["get"]["parameters"]["query"]>;
type NewArticle =
  paths["/v1/articles"]["post"]["requestBody"]["content"]["application/json"];
type Created =
  paths["/v1/articles"]["post"]["responses"][201]["content"]["application/json"];
type NotFound =
  paths["/v1/articles/{ref}"]["get"]["responses"][404]["content"]["application/problem+json"];
type Invalid =
  paths["/v1/articles"]["post"]["responses"][422]["content"]["application/problem+json"];

export function headlines(page: ArticleList): string[] {
  return page.data.map((article: ArticleItem) => article.headline ?? article.id);
}

export function nextPage(page: ArticleList): ArticleQuery | null {
  const cursor: string | null = page.meta.next_cursor;
  return cursor === null ? null : { cursor, limit: page.meta.limit };
}

export function byline(article: Created): string {
  return article.authors.map((author) => author.name).join(", ");
}

export function places(article: Article): string[] {
  return article.entities.filter((entity) => entity.type === "place").map((e) => e.name);
}

export function explain(problem: NotFound | Invalid): string {
  const fields = (problem.errors ?? []).map((issue) => issue.loc.join("."));
  return `${problem.status} ${problem.title}: ${problem.detail} ${fields.join(", ")}`.trim();
}

export const story: NewArticle = {
  headline: "Ruto Congratulates Trump in Phone Call, Discusses U.S.-Kenya Ties and Haiti Mission",
  dateline: "NAIROBI, Kenya",
  section: "politics",
  source: "Capital News",
  status: "published",
  authors: ["capital-news-reporter"],
  entities: ["william-ruto", "donald-trump", "kenya", "haiti"],
};

export const query: ArticleQuery = { entity: ["kenya", "haiti,sudan"], limit: 20 };

// The compile fails if these mistakes stop being errors, that is if the types went loose.
// @ts-expect-error: a headline is required
export const headless: NewArticle = { status: "draft" };
// @ts-expect-error: status is one of draft, published and archived
export const unknownStatus: NewArticle = { headline: "Ruto calls Trump", status: "live" };
// @ts-expect-error: entity types are a closed list
export const wrongType: Article["entities"][number]["type"] = "country";
// @ts-expect-error: a problem document always has a status
export const statusless: Problem = { type: "about:blank", title: "Not Found", detail: "" };
