"""Tests for aggregator.extract.sites: furniture learnt per site from its other pages."""

from __future__ import annotations

import asyncio

from aggregator.extract.body import Extractor
from aggregator.extract.sites import SiteMemory

STORY = [
    "The harbour master said the new pontoon will be open to visiting yachts from the first "
    "week of April, once the last safety checks are done.",
    "Berths will cost less for boats under ten metres, and a new shower block is being built.",
]
OTHER_STORY = [
    "Fishing boats landed the largest catch of mackerel in a decade on Thursday, the port said.",
    "Prices at the morning auction fell by a third as buyers struggled to keep up.",
]
PITCH = "Get our free weekly newsletter: the harbour's news in your inbox."
RELATED = "Related articles:"


def body(*paragraphs: str) -> str:
    return "\n".join(paragraphs)


def test_edges_another_page_of_the_site_printed_are_trimmed() -> None:
    memory = SiteMemory()
    first = body(PITCH, *STORY, RELATED)
    assert memory.clean("https://port.example/a", first) == first  # nothing learnt yet
    second = body(PITCH, *OTHER_STORY, RELATED)
    assert memory.clean("https://port.example/b", second) == body(*OTHER_STORY)


def test_other_hosts_and_the_same_page_teach_nothing() -> None:
    memory = SiteMemory()
    memory.clean("https://port.example/a", body(PITCH, *STORY))
    other_site = body(PITCH, *OTHER_STORY)
    assert memory.clean("https://other.example/b", other_site) == other_site
    # the same address fetched again (an updated article) keeps its own paragraphs
    again = body(PITCH, *STORY, "Update: the opening moved to May.")
    assert memory.clean("https://port.example/a#update", again) == again


def test_only_short_edge_paragraphs_go_and_a_body_always_remains() -> None:
    memory = SiteMemory()
    memory.clean("https://port.example/a", body(PITCH, *STORY))
    # the same article at a second address: its long paragraphs are never furniture
    assert memory.clean("https://port.example/a-copy", body(*STORY)) == body(*STORY)
    # a repeated short paragraph inside the article stays
    inside = body(OTHER_STORY[0], PITCH, OTHER_STORY[1])
    assert memory.clean("https://port.example/c", inside) == inside
    # a page that would be left with too little is kept whole
    memory.clean("https://port.example/d", body("Short item.", RELATED))
    short = body("Short item.", RELATED)
    assert memory.clean("https://port.example/e", short) == short


def test_a_copy_of_another_page_keeps_its_short_paragraphs() -> None:
    # news paragraphs are often short: a wire story carried in two sections of one site
    # repeats every paragraph, and none of them is furniture
    memory = SiteMemory()
    wire = body(
        "By Staff Reporter", *(f"Short wire paragraph number {n} of the story." for n in range(8))
    )
    memory.clean("https://port.example/world/wire", wire)
    assert memory.clean("https://port.example/europe/wire", wire) == wire


def test_memory_is_bounded() -> None:
    memory = SiteMemory(max_sites=2, max_paragraphs=3)
    for n in range(5):
        memory.clean(f"https://site{n}.example/a", body(*(f"Line {n}.{i}" for i in range(6))))
    assert len(memory._sites) == 2
    assert all(len(seen) <= 3 for seen in memory._sites.values())


def test_extractor_trims_what_the_site_repeats() -> None:
    def page(paragraphs: list[str]) -> bytes:
        html = "".join(f"<p>{p}</p>" for p in [PITCH, *paragraphs])
        return f"<html><body><article><h1>News</h1>{html}</article></body></html>".encode()

    async def run() -> tuple[str, str]:
        with Extractor(workers=1) as extractor:
            first = await extractor.extract(page(STORY), url="https://port.example/a")
            second = await extractor.extract(page(OTHER_STORY), url="https://port.example/b")
        return first.text, second.text

    first, second = asyncio.run(run())
    assert PITCH in first  # nothing learnt yet
    assert second == body(*OTHER_STORY)
