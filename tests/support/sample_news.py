"""Small sample news written for these tests: two outlets, three events, one wire copy."""

from __future__ import annotations

from html import escape

ARTICLES = [
    # (outlet, slug, event, title, published RFC 822, paragraphs)
    (
        "north",
        "valencia-floods",
        "floods",
        "River Turia bursts its banks as floods force thousands from homes near Valencia",
        "Tue, 10 Nov 2026 07:10:00 GMT",
        [
            "Emergency services in eastern Spain evacuated more than 4,000 residents from towns "
            "south of Valencia on Tuesday after the River Turia burst its banks following two days "
            "of torrential rain.",
            "The regional government said 180 litres of rain per square metre fell overnight in "
            "parts of the province, flooding roads and cutting the rail line to Alicante.",
            "Soldiers from the military emergencies unit were deployed to Paiporta and Catarroja, "
            "where rescue teams used boats to reach families trapped on upper floors.",
            "Spain's weather agency kept its red alert in place until Wednesday morning and asked "
            "people to avoid all travel in the affected districts.",
        ],
    ),
    (
        "south",
        "spain-flooding-evacuations",
        "floods",
        "Thousands evacuated in Valencia as River Turia floods towns",
        "Tue, 10 Nov 2026 09:30:00 GMT",
        [
            "More than four thousand people were moved to shelters around Valencia after the River "
            "Turia overflowed on Tuesday, regional officials said.",
            "Rescue teams with boats reached families trapped in Paiporta and Catarroja, and the "
            "army's emergencies unit joined the operation as the red weather alert stayed in force.",
            "The rail line between Valencia and Alicante was cut and schools across the province "
            "will stay closed on Wednesday, the regional government announced.",
        ],
    ),
    (
        "north",
        "norges-bank-raises-rates",
        "norway-rates",
        "Norway's central bank raises interest rate to 4.75% to fight inflation",
        "Thu, 12 Nov 2026 09:05:00 GMT",
        [
            "Norges Bank raised its key policy rate by a quarter point to 4.75 percent on Thursday, "
            "saying core inflation in Norway had proved more persistent than expected.",
            "Governor Ida Wolden Bache said the krone's weakness had pushed up import prices and "
            "that the rate would probably stay at the new level well into next year.",
            "Economists in Oslo had been split on the decision, with a narrow majority expecting a "
            "hike.",
        ],
    ),
    (
        "south",
        "oslo-rate-hike",
        "norway-rates",
        "Norges Bank lifts key rate to 4.75 percent as krone weakness feeds inflation",
        "Thu, 12 Nov 2026 10:40:00 GMT",
        [
            "Norway's central bank increased its policy rate to 4.75 percent on Thursday, its first "
            "move in a year, citing stubborn core inflation and a weak krone.",
            "Governor Ida Wolden Bache told reporters in Oslo that the rate was likely to remain at "
            "that level into next year.",
        ],
    ),
    (
        "north",
        "bank-of-canada-cuts",
        "canada-rates",
        "Bank of Canada cuts interest rate to 3.25% as economy slows",
        "Wed, 11 Nov 2026 15:00:00 GMT",
        [
            "The Bank of Canada lowered its benchmark overnight rate by half a point to 3.25 percent "
            "on Wednesday, citing slowing growth and rising unemployment in Ontario and Quebec.",
            "Governor Tiff Macklem said in Ottawa that further cuts were possible if the labour "
            "market kept weakening.",
            "The Canadian dollar fell against the US dollar after the announcement.",
        ],
    ),
]

# A wire copy: the "south" outlet republishes north's floods story verbatim under its own URL.
WIRE_COPY = (
    "south",
    "wire-valencia-floods",
    "floods",
    "Floods: River Turia bursts banks near Valencia (wire)",
    "Tue, 10 Nov 2026 08:00:00 GMT",
    ARTICLES[0][5],
)


def page_html(title: str, paragraphs: list[str], outlet: str) -> str:
    body = "".join(f"<p>{escape(p)}</p>" for p in paragraphs)
    return f"""<!doctype html><html><head><meta charset="utf-8"><title>{escape(title)} | {outlet}</title></head>
<body><nav><a href="/">Home</a> <a href="/world">World</a> <a href="/sport">Sport</a></nav>
<div class="cookie">We use cookies to improve your experience. Accept all cookies.</div>
<main><article><h1>{escape(title)}</h1><p class="byline">By Staff Reporter</p>{body}</article></main>
<aside><h3>Most read</h3><ul><li><a href="/x">Celebrity chef opens new restaurant</a></li></ul></aside>
<footer>Copyright 2026 {outlet}. All rights reserved.</footer></body></html>"""


def rss(outlet: str, base: str, items: list[tuple[str, str, str, str, str, list[str]]]) -> str:
    parts = []
    for _, slug, _, title, date, paragraphs in items:
        link = f"{base}/{outlet}/{slug}.html?utm_source=rss&utm_medium=feed"
        parts.append(
            f"<item><title>{escape(title)}</title><link>{escape(link)}</link>"
            f'<guid isPermaLink="false">{outlet}-{slug}</guid><pubDate>{date}</pubDate>'
            f"<description>{escape(paragraphs[0])}</description></item>"
        )
    return (
        '<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel>'
        f"<title>{outlet} news</title><link>{base}/{outlet}/</link><description>News</description>"
        + "".join(parts)
        + "</channel></rss>"
    )


def publish(site, *, with_wire_copy: bool = True) -> dict[str, str]:  # type: ignore[no-untyped-def]
    """Put both outlets' feeds and pages on `site`; return outlet -> feed URL."""
    items = list(ARTICLES) + ([WIRE_COPY] if with_wire_copy else [])
    feeds = {}
    for outlet in ("north", "south"):
        mine = [a for a in items if a[0] == outlet]
        for _, slug, _, title, _, paragraphs in mine:
            site.add(f"/{outlet}/{slug}.html", page_html(title, paragraphs, outlet))
        feeds[outlet] = site.add(
            f"/{outlet}/rss.xml", rss(outlet, site.base_url, mine), "application/rss+xml"
        )
    return feeds


def event_of(url: str) -> str:
    for _, slug, event, *_ in [*ARTICLES, WIRE_COPY]:
        if f"/{slug}.html" in url:
            return event
    raise KeyError(url)
