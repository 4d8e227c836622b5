"""The security suite's attacks and what counts as a leak, shared by its tests.

XSS vectors (:data:`PAYLOADS`) after the OWASP "XSS Filter Evasion" and "XSS
Prevention" cheat sheets, rewritten so that running any of them increments
``window.__xss`` (an ``alert`` would block a headless page and count nothing). Each
vector stays under 255 characters (it is also used as the subject) and under 32 words
(the inbox truncates longer text).
"""

from __future__ import annotations

import re

from django.test import Client

#: Any SSE field line: an error response must not contain a single one.
EVENT_BYTES = re.compile(rb"^(id|event|data|retry):", re.MULTILINE)

#: Internals an error body of the site or of nginx must never show (S15).
INTERNALS = re.compile(
    r"Traceback|File \"|line \d+, in|/work/|/usr/|site-packages|\.py\b|redis://|"
    r"127\.0\.0\.1:\d|sqlite|OperationalError|Exception|stream-secret|SECRET_KEY|"
    r"monitio-tests-not-secret",
    re.IGNORECASE,
)

#: The gateway's error bodies are fixed texts of its own: even an exception's class
#: name, its key prefix or any address there is a leak (S15).
GATEWAY_INTERNALS = re.compile(
    r"Traceback|File \"|/work|site-packages|redis://|\.py\b|Error|"
    r"127\.0\.0\.1|monitio-test|stream-secret",
    re.IGNORECASE,
)


def browser_for(user) -> Client:
    """A logged-in browser with CSRF checks on, as in production."""
    client = Client(enforce_csrf_checks=True)
    client.force_login(user)
    return client



X = "window.__xss++"

_TAGS = [
    f"<script>{X}</script>",
    f"<SCRIPT>{X}</SCRIPT>",
    f'<script type="text/javascript">{X}</script>',
    f"<scr<script>ipt>{X}</scr</script>ipt>",
    f"<script/x>{X}</script>",
    f"</script><script>{X}</script>",
    f'<script src="data:text/javascript,{X}"></script>',
    f'<img src=x onerror="{X}">',
    f"<IMG SRC=x ONERROR={X}>",
    f'<img src="javascript:{X}">',
    f"<img/src=x/onerror={X}>",
    "<img src=x onerror=&#119;indow.__xss++>",
    '<img src=x onerror="&#x77;&#x69;&#x6e;dow.__xss++">',
    f'<img """><script>{X}</script>">',
    f"<img src=`x` onerror={X}>",
    f"<svg onload={X}>",
    f"<svg/onload={X}>",
    f"<svg><script>{X}</script></svg>",
    f"<svg><animate onbegin={X} attributeName=x dur=1s>",
    f'<svg><a xlink:href="javascript:{X}"><text x=20 y=20>x</text></a></svg>',
    f"<svg><set attributeName=onload to={X}>",
    f"<body onload={X}>",
    f"<body onpageshow={X}>",
    '<iframe src="javascript:parent.__xss++"></iframe>',
    '<iframe srcdoc="<script>parent.__xss++</script>"></iframe>',
    f"<iframe onload={X}></iframe>",
    f'<object data="javascript:{X}"></object>',
    f'<embed src="javascript:{X}">',
    '<embed src="data:text/html,<script>parent.__xss++</script>">',
    f"<input autofocus onfocus={X}>",
    f"<select autofocus onfocus={X}></select>",
    f"<textarea autofocus onfocus={X}></textarea>",
    f"<keygen autofocus onfocus={X}>",
    f"<details open ontoggle={X}>",
    f"<video><source onerror={X}></video>",
    f"<video src=x onerror={X}></video>",
    f"<audio src=x onerror={X}>",
    f"<marquee onstart={X}>x</marquee>",
    f'<div onmouseover={X} style="position:fixed;inset:0">x</div>',
    f'<div style="width:expression({X})">',
    f"<style>@import 'javascript:{X}';</style>",
    f"<style onload={X}></style>",
    f'<link rel=stylesheet href="javascript:{X}">',
    f'<link rel=import href="data:text/html,<script>{X}</script>">',
    f'<meta http-equiv="refresh" content="0;url=javascript:{X}">',
    f'<base href="javascript:{X}//">',
    f'<form><button formaction="javascript:{X}">x</button></form>',
    f'<form action="javascript:{X}"><input type=submit></form>',
    f"<isindex type=image src=1 onerror={X}>",
    f'<table background="javascript:{X}">',
    f'<td background="javascript:{X}">',
    f'<a href="javascript:{X}">click</a>',
    f'<a href="jav&#x09;ascript:{X}">click</a>',
    f'<a href=" &#14; javascript:{X}">click</a>',
    f'<a href="JaVaScRiPt:{X}">click</a>',
    '<a href="data:text/html;base64,PHNjcmlwdD5wYXJlbnQuX194c3MrKzwvc2NyaXB0Pg==">x</a>',
    f"<math><mtext><table><mglyph><style><img src=x onerror={X}>",
    f'<noscript><p title="</noscript><img src=x onerror={X}>">',
    f"<template><img src=x onerror={X}></template>",
    f"<xmp><img src=x onerror={X}></xmp>",
    f"<listing>&lt;img src=x onerror={X}&gt;</listing>",
    f'<!--<img src="--><img src=x onerror={X}//">',
    f"<![CDATA[<img src=x onerror={X}>]]>",
    f'<?xml-stylesheet href="javascript:{X}"?>',
    f"<plaintext><img src=x onerror={X}>",
    f"<frameset onload={X}>",
    f'<bgsound src="javascript:{X}">',
    f'<br size="&{{{X}}}">',
    f'<layer src="javascript:{X}"></layer>',
    f"<xss id=x tabindex=1 onfocus={X}></xss>",
    f"<custom-tag onclick={X}>click</custom-tag>",
    f"<dialog open onclose={X}>",
    "<img src=x:x onerror=eval(atob('d2luZG93Ll9feHNzKys='))>",
    '<img src=x onerror="eval(String.fromCharCode(119,105,110,100,111,119,46,95,95,120,115,115,43,43))">',
    f"<img src=x onerror=\"setTimeout('{X}')\">",
    f"<img src=x onerror=\"Function('{X}')()\">",
    f"<img src=x onerror=\"import('data:text/javascript,{X}')\">",
]

_ATTRIBUTE_BREAKOUTS = [
    f'" onmouseover="{X}',
    f"' onmouseover='{X}",
    f'" autofocus onfocus="{X}',
    f'"><img src=x onerror={X}>',
    f"'><img src=x onerror={X}>",
    f'"/><svg onload={X}>',
    f"` onmouseover={X}",
    f'" style="background:url(javascript:{X})',
    f"javascript:{X}",
    f"JaVaScRiPt:{X}",
    f"data:text/html,<script>{X}</script>",
    f"vbscript:{X}",
]

_SCRIPT_AND_TEMPLATE = [
    f"</script><img src=x onerror={X}>",
    f"';{X};//",
    f'";{X};//',
    f'\\";{X};//',
    f"</ScRiPt><ScRiPt>{X}</ScRiPt>",
    f"${{{X}}}",
    f"{{{{constructor.constructor('{X}')()}}}}",
    "{% csrf_token %} {{ 7|add:7 }} {{ request.user }}",
    f"{{{{ {X} }}}}",
    f"<%= {X} %>",
    f"#{{{X}}}",
    f"[[${{{X}}}]]",
    f"\\u003cimg src=x onerror={X}\\u003e",
    f"&lt;img src=x onerror={X}&gt;",
    f"&#60;script&#62;{X}&#60;/script&#62;",
    f"%3Cscript%3E{X}%3C/script%3E",
    f"+ADw-script+AD4-{X}+ADw-/script+AD4-",
    f"<script >{X}</script >",
    f"<scr\u0130pt>{X}</scr\u0130pt>",
    f"\u202e<img src=x onerror={X}>",
    f"<img src=x onerror={X}>\u2028</script>",
    f"-->'\"><svg onload={X}>",
    f"]]><img src=x onerror={X}>",
]

PAYLOADS: list[str] = _TAGS + _ATTRIBUTE_BREAKOUTS + _SCRIPT_AND_TEMPLATE

assert len(PAYLOADS) >= 100 and len(set(PAYLOADS)) == len(PAYLOADS)
assert all(len(p) <= 240 and len(p.split()) < 30 for p in PAYLOADS)
