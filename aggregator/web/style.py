"""The one stylesheet, served as /static/style.css (the CSP forbids inline styles).

System fonts, no external assets, readable on a phone first; a dark scheme follows the
reader's system setting.
"""

from __future__ import annotations

import hashlib

CSS = """
:root{--fg:#1c1e21;--muted:#5f6368;--line:#e3e5e8;--bg:#fff;--card:#fff;--accent:#1a56db;
--chip:#eef2ff;--chip-fg:#243c8f;--soft:#f6f7f9;--dot:#1a56db;--copy:#8a94a6}
@media (prefers-color-scheme:dark){:root{--fg:#e6e8eb;--muted:#9aa0a6;--line:#30343a;
--bg:#15171a;--card:#1c1f23;--accent:#8ab4f8;--chip:#24304a;--chip-fg:#c6d6ff;--soft:#202328;
--dot:#8ab4f8;--copy:#6b7280}}
*{box-sizing:border-box}
html{-webkit-text-size-adjust:100%}
body{margin:0;background:var(--soft);color:var(--fg);
font:16px/1.5 system-ui,-apple-system,"Segoe UI",Roboto,"Noto Sans",sans-serif}
a{color:var(--accent);text-decoration:none}a:hover,a:focus{text-decoration:underline}
.wrap{max-width:48rem;margin:0 auto;padding:0 .9rem}
header.top{background:var(--card);border-bottom:1px solid var(--line)}
header.top .wrap{display:flex;flex-wrap:wrap;align-items:baseline;gap:.4rem 1.2rem;padding-top:.6rem;
padding-bottom:.6rem}
.brand{font-weight:700;font-size:1.25rem;color:var(--fg)}
header.top nav{display:flex;gap:1rem;font-size:.95rem}
form.filters{display:grid;grid-template-columns:repeat(4,minmax(0,1fr));gap:.5rem;
margin:1rem 0 .4rem}
form.filters input,form.filters select,form.filters button{font:inherit;font-size:.95rem;
padding:.45rem .5rem;border:1px solid var(--line);border-radius:.4rem;background:var(--card);
color:var(--fg);min-width:0}
form.filters .q{grid-column:span 3}
form.filters button{background:var(--accent);color:var(--bg);border-color:var(--accent);
font-weight:600;cursor:pointer}
.status{color:var(--muted);font-size:.9rem;margin:.3rem 0 1rem}
.status a{margin-left:.35rem}
.card{background:var(--card);border:1px solid var(--line);border-radius:.6rem;padding:.9rem 1rem;
margin:0 0 .9rem}
.card h2{font-size:1.15rem;line-height:1.3;margin:0 0 .3rem}
.card h2 a{color:var(--fg)}
.meta{color:var(--muted);font-size:.88rem;margin:.15rem 0}
.meta strong{color:var(--fg)}
.lead{margin:.5rem 0}
.corrected{border-left:3px solid var(--muted);padding:.1rem .8rem;margin:.6rem 0;font-size:.88rem}
.corrected ul{margin:.2rem 0;padding-left:1.1rem}
.outlets{list-style:none;margin:.5rem 0 0;padding:0;display:flex;flex-wrap:wrap;gap:.25rem .9rem;
font-size:.88rem}
.outlets li{white-space:nowrap}.outlets time{color:var(--muted);margin-left:.25rem}
.outlets .more{color:var(--muted)}
.chips{list-style:none;margin:.45rem 0 0;padding:0;display:flex;flex-wrap:wrap;gap:.3rem}
.chips li a,a.chip{display:inline-block;background:var(--chip);color:var(--chip-fg);
border-radius:1rem;padding:.05rem .6rem;font-size:.8rem}
.chips .n{opacity:.75;margin-left:.25rem}
ul.hits{list-style:none;margin:.5rem 0 0;padding:0}
ul.hits li{margin:.45rem 0}ul.hits .hit-title{font-weight:600}ul.hits .more{color:var(--muted)}
.snippet{margin:.15rem 0 0;font-size:.92rem}
mark{background:var(--chip);color:var(--chip-fg);border-radius:.2rem;padding:0 .1rem}
.full{display:inline-block;margin-top:.5rem;font-size:.9rem;font-weight:600}
.pager{display:flex;justify-content:space-between;align-items:center;margin:1rem 0 2rem;
font-size:.95rem}
.pager .here{color:var(--muted)}
.empty{background:var(--card);border:1px dashed var(--line);border-radius:.6rem;padding:1.5rem;
text-align:center;color:var(--muted)}
.story h1{font-size:1.5rem;line-height:1.25;margin:1rem 0 .4rem}
section{margin:1.4rem 0}
section h2{font-size:1.05rem;margin:0 0 .5rem;text-transform:uppercase;letter-spacing:.04em;
color:var(--muted)}
.persp{list-style:none;padding:0;margin:0}
.persp li{margin:.25rem 0}
.tl{width:100%;height:auto;background:var(--card);border:1px solid var(--line);border-radius:.6rem}
.tl text{fill:var(--muted);font-size:12px;font-family:inherit}
.tl text.name{fill:var(--fg)}
.tl line{stroke:var(--line);stroke-width:1}
.tl circle{fill:var(--dot)}.tl circle.copy{fill:none;stroke:var(--copy);stroke-width:2}
ol.timeline{list-style:none;padding:0;margin:.6rem 0 0;font-size:.9rem}
ol.timeline li{display:grid;grid-template-columns:6.5rem 1fr;gap:.6rem;padding:.2rem 0;
border-bottom:1px solid var(--line)}
ol.timeline .off{color:var(--muted);font-variant-numeric:tabular-nums}
.item{background:var(--card);border:1px solid var(--line);border-radius:.6rem;padding:.8rem 1rem;
margin:0 0 .8rem}
.item h3{font-size:1.02rem;line-height:1.3;margin:0 0 .2rem}
.excerpt{margin:.45rem 0;font-size:.95rem}
details{margin:.35rem 0;font-size:.9rem}
details summary{cursor:pointer;color:var(--accent)}
details ul{margin:.3rem 0;padding-left:1.2rem}
dl.why{display:grid;grid-template-columns:max-content 1fr;gap:.15rem .8rem;margin:.4rem 0}
dl.why dt{color:var(--muted)}dl.why dd{margin:0}
table.sources{width:100%;border-collapse:collapse;background:var(--card);font-size:.9rem}
table.sources th,table.sources td{text-align:left;padding:.45rem .5rem;border-bottom:1px solid var(--line);
vertical-align:top}
.ok{color:#1e7e34}.bad{color:#c5221f}
code,pre{font-family:ui-monospace,SFMono-Regular,Menlo,Consolas,monospace;font-size:.88rem}
pre{background:var(--card);border:1px solid var(--line);border-radius:.4rem;padding:.6rem;
overflow-x:auto}
footer{color:var(--muted);font-size:.8rem;padding:1rem 0 2rem}
header.top nav{align-items:baseline;flex-wrap:wrap}header.top .who{color:var(--muted)}
form.act,form.logout{display:inline;margin:0}
form.act button,form.logout button,form.login button{font:inherit;font-size:.85rem;
padding:.2rem .6rem;border:1px solid var(--line);border-radius:.4rem;background:var(--card);
color:var(--accent);cursor:pointer}
form.logout button{font-size:.95rem;border:0;padding:0;background:none}
.reading{display:flex;flex-wrap:wrap;align-items:center;gap:.3rem .7rem;margin:.3rem 0;
font-size:.88rem}
.reading.story{margin:.5rem 0}
.unread{background:var(--accent);color:var(--bg);border-radius:1rem;padding:0 .55rem;
font-weight:600;font-size:.8rem}
.done{color:var(--muted)}
body>main>form.act{display:block;margin:0 0 .8rem}
form.login{display:grid;gap:.7rem;max-width:22rem;margin:1rem 0}
form.login label{display:grid;gap:.2rem;font-size:.95rem}
form.login input{font:inherit;padding:.45rem .5rem;border:1px solid var(--line);
border-radius:.4rem;background:var(--card);color:var(--fg)}
form.login button{font-size:1rem;padding:.45rem;background:var(--accent);color:var(--bg);
border-color:var(--accent);font-weight:600}
.problem{border-left:3px solid #c5221f;padding:.3rem .8rem;background:var(--card)}
@media (max-width:36rem){form.filters{grid-template-columns:repeat(2,minmax(0,1fr))}
form.filters .q{grid-column:1/-1}form.filters button{order:9;grid-column:1/-1}}
@media (max-width:30rem){.card,.item{padding:.75rem .8rem}.story h1{font-size:1.3rem}
ol.timeline li{grid-template-columns:5rem 1fr}}
"""

# Part of the stylesheet's URL, so browsers may cache it for long and still see changes.
VERSION = hashlib.sha1(CSS.encode()).hexdigest()[:10]
