"""Driving ``wrk``: Lua scripts that rotate over a list of requests, and its report parsed."""

import re
import shutil
import subprocess
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

INSTALL_HINT = (
    "wrk is not installed. On Debian or Ubuntu: sudo apt-get install -y wrk "
    "(or `make bench`, which installs it); elsewhere see https://github.com/wg/wrk."
)


@dataclass(frozen=True)
class HttpRequest:
    path: str
    method: str = "GET"
    headers: dict[str, str] = field(default_factory=dict)
    body: str | None = None


@dataclass
class WrkResult:
    requests: int
    seconds: float
    requests_per_second: float
    latency_ms: dict[str, float]
    non_2xx_3xx: int
    socket_errors: dict[str, int]

    @property
    def errors(self) -> int:
        return self.non_2xx_3xx + sum(self.socket_errors.values())

    def as_dict(self) -> dict[str, Any]:
        return {
            "requests": self.requests,
            "seconds": self.seconds,
            "requests_per_second": self.requests_per_second,
            "latency_ms": self.latency_ms,
            "non_2xx_3xx": self.non_2xx_3xx,
            "socket_errors": self.socket_errors,
        }


def wrk_path() -> str | None:
    return shutil.which("wrk")


def _lua_string(text: str) -> str:
    """A Lua string literal for any text (decimal escapes for anything unusual)."""
    out = []
    for char in text.encode():
        if 32 <= char < 127 and char not in (34, 92):
            out.append(chr(char))
        else:
            out.append(f"\\{char:03d}")
    return '"' + "".join(out) + '"'


def lua_script(requests: Sequence[HttpRequest]) -> str:
    """A wrk script that sends ``requests`` in turn, round and round. The raw requests are
    formatted once in ``init`` so that each request costs wrk only a table lookup."""
    lines = ["-- Written by bench/run.py: rotates over a fixed list of requests."]
    lines.append("local specs = {")
    for request in requests:
        headers = ", ".join(
            f"[{_lua_string(name)}] = {_lua_string(value)}"
            for name, value in request.headers.items()
        )
        body = _lua_string(request.body) if request.body is not None else "nil"
        lines.append(
            f"  {{{_lua_string(request.method)}, {_lua_string(request.path)}, {{{headers}}}, "
            f"{body}}},"
        )
    lines += [
        "}",
        "local prepared = {}",
        "local next_index = 0",
        "function init(args)",
        "  for i, spec in ipairs(specs) do",
        "    prepared[i] = wrk.format(spec[1], spec[2], spec[3], spec[4])",
        "  end",
        "end",
        "function request()",
        "  next_index = next_index % #prepared + 1",
        "  return prepared[next_index]",
        "end",
        "",
    ]
    return "\n".join(lines)


_UNITS_MS = {"us": 0.001, "ms": 1.0, "s": 1000.0, "m": 60_000.0, "h": 3_600_000.0}
_VALUE = r"([\d.]+)(us|ms|s|m|h)"


def _milliseconds(value: str, unit: str) -> float:
    return float(value) * _UNITS_MS[unit]


def parse_output(output: str) -> WrkResult:
    total = re.search(r"(\d+) requests in ([\d.]+)(us|ms|s|m|h)", output)
    rate = re.search(r"Requests/sec:\s+([\d.]+)", output)
    if not total or not rate:
        raise ValueError(f"unexpected wrk output:\n{output}")
    latency = {
        f"p{percent}": round(_milliseconds(value, unit), 3)
        for percent, value, unit in re.findall(r"^\s+(\d+)%\s+" + _VALUE, output, re.MULTILINE)
    }
    mean = re.search(r"Latency\s+" + _VALUE, output)
    if mean:
        latency["mean"] = round(_milliseconds(*mean.groups()), 3)
    non_2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", output)
    sockets = re.search(
        r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", output
    )
    socket_errors = dict.fromkeys(("connect", "read", "write", "timeout"), 0)
    if sockets:
        socket_errors = dict(zip(socket_errors, map(int, sockets.groups()), strict=True))
    return WrkResult(
        requests=int(total.group(1)),
        seconds=round(_milliseconds(total.group(2), total.group(3)) / 1000, 3),
        requests_per_second=float(rate.group(1)),
        latency_ms=latency,
        non_2xx_3xx=int(non_2xx.group(1)) if non_2xx else 0,
        socket_errors=socket_errors,
    )


def run(
    base_url: str,
    requests: Sequence[HttpRequest],
    *,
    script_path: Path,
    threads: int,
    connections: int,
    duration: float,
    timeout: float,
) -> WrkResult:
    """One wrk run. A single plain GET goes without a script (wrk's fastest path)."""
    executable = wrk_path()
    if executable is None:
        raise RuntimeError(INSTALL_HINT)
    command = [
        executable,
        f"-t{threads}",
        f"-c{connections}",
        f"-d{duration:g}s",
        f"--timeout={timeout:g}s",
        "--latency",
    ]
    first = requests[0]
    if len(requests) == 1 and first.method == "GET" and first.body is None:
        for name, value in first.headers.items():
            command += ["-H", f"{name}: {value}"]
    else:
        script_path.write_text(lua_script(requests))
        command += ["-s", str(script_path)]
    command.append(base_url + first.path)
    completed = subprocess.run(
        command, capture_output=True, text=True, timeout=duration + timeout + 60, check=False
    )
    if completed.returncode != 0:
        raise RuntimeError(f"wrk failed ({completed.returncode}): {completed.stderr.strip()}")
    return parse_output(completed.stdout)
