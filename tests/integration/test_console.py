"""The web console as the API serves it: its page, its files, and what they may load.

The console is plain files under `api/static`; these tests read them as a browser
would (through the app) and as a reviewer would (on disk): everything the page
names is served with the right type, nothing is fetched from outside at run time,
and both languages say everything.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from html.parser import HTMLParser
from pathlib import Path
from typing import Final

import pytest

from anxin.settings import Settings
from api.routes.console import STATIC
from records.database import migrate, open_engine
from tests.integration.api_rig import ApiRig, api_rig

pytestmark = pytest.mark.integration

LANGUAGES: Final = ("en", "zh-CN")
CONTENT_TYPES: Final = {
    ".css": "text/css",
    ".js": "text/javascript",
    ".json": "application/json",
    ".png": "image/png",
    ".svg": "image/svg+xml",
}
OWN_SCRIPTS: Final = sorted((STATIC / "js").rglob("*.js"))


@pytest.fixture(scope="module")
def rig(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ApiRig]:
    root = tmp_path_factory.mktemp("console")
    engine = open_engine(f"sqlite:///{root / 'anxin.db'}")
    migrate(engine)
    yield from api_rig(engine, Settings(data_dir=root))
    engine.dispose()


class _References(HTMLParser):
    """The `src` and `href` of every element of a page, and its inline scripts."""

    def __init__(self) -> None:
        super().__init__()
        self.urls: list[str] = []
        self.inline_scripts = 0
        self._in_script_without_src = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        found = dict(attrs)
        self.urls += [url for name in ("src", "href") if (url := found.get(name))]
        self._in_script_without_src = tag == "script" and "src" not in found

    def handle_data(self, data: str) -> None:
        if self._in_script_without_src and data.strip():
            self.inline_scripts += 1

    def handle_endtag(self, tag: str) -> None:
        self._in_script_without_src = False


def page_references() -> _References:
    parser = _References()
    parser.feed((STATIC / "index.html").read_text(encoding="utf-8"))
    return parser


def file_references() -> list[str]:
    return [url for url in page_references().urls if url.startswith("/static/")]


def test_the_page_is_served_at_the_root_uncached_with_the_security_headers(rig: ApiRig) -> None:
    answer = rig.client.get("/")
    assert answer.status_code == 200
    assert answer.headers["content-type"].startswith("text/html")
    assert answer.headers["cache-control"] == "no-store"
    assert answer.headers["x-content-type-options"] == "nosniff"
    assert answer.headers["x-frame-options"] == "DENY"
    assert "default-src 'self'" in answer.headers["content-security-policy"]
    assert answer.text == (STATIC / "index.html").read_text(encoding="utf-8")


def test_the_page_runs_no_inline_script_and_names_only_its_own_files() -> None:
    references = page_references()
    assert references.inline_scripts == 0  # the CSP allows none
    # Skip link (#main) aside, every reference is one of the console's files.
    assert {url for url in references.urls if not url.startswith("#")} == set(file_references())
    assert file_references()


@pytest.mark.parametrize("url", file_references())
def test_every_file_the_page_names_is_served_with_its_type(rig: ApiRig, url: str) -> None:
    answer = rig.client.get(url)
    assert answer.status_code == 200, url
    assert answer.headers["content-type"].startswith(CONTENT_TYPES[Path(url).suffix])
    assert answer.content == (STATIC / url.removeprefix("/static/")).read_bytes()
    vendored = url.startswith("/static/vendor/")
    # Vendored files live in versioned folders, so they may be cached for good.
    expected = "public, max-age=31536000, immutable" if vendored else "no-cache"
    assert answer.headers["cache-control"] == expected


@pytest.mark.parametrize("language", LANGUAGES)
def test_each_dictionary_is_served_as_json(rig: ApiRig, language: str) -> None:
    answer = rig.client.get(f"/static/i18n/{language}.json")
    assert answer.status_code == 200
    assert answer.headers["content-type"].startswith("application/json")


def test_nothing_outside_the_console_folder_is_served(rig: ApiRig) -> None:
    # Encoded, so the client sends the dots as they are and the server must refuse them.
    assert rig.client.get("/static/%2e%2e/routes/console.py").status_code == 404


def test_every_module_the_scripts_import_exists() -> None:
    imports = re.compile(r"""^import .*? from "(\.{1,2}/[^"]+)";$""", re.MULTILINE | re.DOTALL)
    for script in OWN_SCRIPTS:
        for target in imports.findall(script.read_text(encoding="utf-8")):
            assert (script.parent / target).resolve().is_file(), f"{script.name} imports {target}"


# --- nothing loaded from outside at run time ---------------------------------------------

URL: Final = re.compile(r"https?://[^\s\"'<>)]+")
COMMENT: Final = re.compile(r"/\*.*?\*/|<!--.*?-->", re.DOTALL)
NAMESPACES: Final = ("http://www.w3.org/",)
"""XML namespace names: identifiers a browser never fetches."""


def shipped_text_files() -> list[Path]:
    """Every file a browser may be sent, less the licences and notes beside the code."""
    return [
        path
        for path in sorted(STATIC.rglob("*"))
        if path.is_file() and path.suffix in {".html", ".css", ".js", ".json", ".svg"}
    ]


def outside_urls(path: Path) -> list[str]:
    """URLs in the file that could make a browser fetch something from outside:
    anything but comments, XML namespace names and `<a href>` links a person may follow."""
    text = COMMENT.sub("", path.read_text(encoding="utf-8"))
    return [
        match.group()
        for match in URL.finditer(text)
        if not match.group().startswith(NAMESPACES)
        and not text[: match.start()].endswith('<a href="')
    ]


@pytest.mark.parametrize(
    "path", shipped_text_files(), ids=lambda path: str(path.relative_to(STATIC))
)
def test_no_file_loads_code_styles_or_tiles_from_outside(path: Path) -> None:
    assert outside_urls(path) == []


def test_the_scan_would_see_a_library_fetched_from_a_cdn(tmp_path: Path) -> None:
    page = tmp_path / "page.html"
    page.write_text('<!-- https://example.org --><script src="https://cdn.example/x.js"></script>')
    assert outside_urls(page) == ["https://cdn.example/x.js"]


def test_the_map_has_no_tile_layer() -> None:
    for script in OWN_SCRIPTS:
        assert "tileLayer" not in script.read_text(encoding="utf-8"), script.name


# --- the two languages ---------------------------------------------------------------------


def dictionary(language: str) -> dict[str, str]:
    loaded: dict[str, str] = json.loads(
        (STATIC / "i18n" / f"{language}.json").read_text(encoding="utf-8")
    )
    return loaded


def test_both_languages_have_exactly_the_same_keys() -> None:
    english, chinese = dictionary("en"), dictionary("zh-CN")
    assert sorted(english) == sorted(chinese)


@pytest.mark.parametrize("language", LANGUAGES)
def test_no_text_is_empty(language: str) -> None:
    empty = [key for key, text in dictionary(language).items() if not str(text).strip()]
    assert empty == []


@pytest.mark.parametrize("language", LANGUAGES)
def test_placeholders_match_across_languages(language: str) -> None:
    placeholder = re.compile(r"\{(\w+)\}")
    english = dictionary("en")
    for key, text in dictionary(language).items():
        assert set(placeholder.findall(text)) == set(placeholder.findall(english[key])), key


def test_every_key_the_scripts_name_is_in_the_dictionary() -> None:
    # Keys are dotted lower-case words; the scripts name no other strings of that shape.
    key = re.compile(r"""["`]([a-z][a-z0-9_]*\.[a-z0-9_]+)["`]""")
    known = dictionary("en")
    for script in OWN_SCRIPTS:
        for name in key.findall(script.read_text(encoding="utf-8")):
            assert name in known, f"{script.name} uses {name}"
