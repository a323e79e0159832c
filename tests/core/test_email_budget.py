"""The rendering budget: runaway or oversized templates are refused, ordinary ones render."""

from __future__ import annotations

import re
import time

import pytest
from jinja2.sandbox import ImmutableSandboxedEnvironment

from authstack_core import email_budget
from authstack_core.email_budget import Budget, BudgetExceeded
from authstack_core.email_rendering import TemplateError, TemplateSource, check_template, render
from authstack_core.email_sandbox import BudgetedSandbox

NESTED_LOOPS = (
    "{% for a in range(1000) %}{% for b in range(1000) %}{% for c in range(1000) %}x"
    "{% endfor %}{% endfor %}{% endfor %}"
)
# Doubling a value without a loop: each step is cheap, the 12th holds 4 million characters.
DOUBLING = "{% set a = ['x' * 1000] %}" + "".join(
    f"{{% set {n} = [{p}, {p}] %}}" for p, n in zip("abcdefghijkl", "bcdefghijklm", strict=True)
)

OVER_BUDGET = {
    "three nested loops": (NESTED_LOOPS, "loops run more than 10000 times"),
    "loop without output": (NESTED_LOOPS.replace("x", ""), "loops run more than 10000 times"),
    "string times a billion": ("{{ 'x' * 1000 * 1000 * 1000 }}", "repeated value would exceed"),
    "huge power": ("{{ 9 ** 99999999 }}", "number would be too large"),
    "list doubled by set": (DOUBLING + "{{ m }}", "list or dict would exceed"),
    "namespace string doubled": (
        "{% set ns = namespace(s='x' * 1000) %}{% for i in range(40) %}"
        "{% set ns.s = ns.s ~ ns.s %}{% endfor %}",
        "would exceed 2000000 characters",
    ),
    "concat of many copies": (
        "{% set b = 'x' * 1000000 %}{{ b ~ b ~ b ~ b }}",
        "joined text would exceed",
    ),
    "center filter width": ("{{ 'x'|center(1000000000) }}", "center filter's size is limited"),
    "str.center width": ("{{ 'x'.center(1000000000) }}", "str.center()'s width is limited"),
    "replace amplification": (
        "{% set s = 'x' * 100000 %}{{ s|replace('x', s) }}",
        "replaced text would exceed",
    ),
    "join amplification": (
        "{% set s = 'x' * 100000 %}{{ s.join(s) }}",
        "joined text would exceed",
    ),
    "format width": ("{{ '{:>999999999}'.format(1) }}", "format widths are limited"),
    "percent width": ("{{ '%999999999d' % 1 }}", "format widths are limited"),
    "format filter width": ("{{ '%999999999d'|format(1) }}", "format widths are limited"),
    "captured output": (
        "{% set big = 'x' * 1000000 %}{% set c %}{% for i in range(100) %}{{ big }}"
        "{% endfor %}{% endset %}{{ c|length }}",
        "writes more than 2000000 characters",
    ),
    "exponential macro": (
        "{% macro f(n) %}{% if n > 0 %}{{ f(n - 1) }}{{ f(n - 1) }}{% endif %}{% endmacro %}"
        "{{ f(40) }}",
        "more than 100000 steps",
    ),
    "indent of many lines": (
        "{{ ('\\n' * 1000000)|indent(5000) }}",
        "indented text would exceed",
    ),
    "batch fill": ("{{ range(10)|batch(1000000000, 'x')|list }}", "batch filter's size"),
    "dict view multiplied": (
        "{% set d = {'a': 'x' * 1000000} %}{{ [d.items()] * 1000 }}",
        "would exceed",
    ),
}


@pytest.mark.parametrize("html", [v[0] for v in OVER_BUDGET.values()], ids=list(OVER_BUDGET))
def test_a_template_over_budget_is_refused_quickly_naming_the_limit(html: str) -> None:
    expected = next(v[1] for v in OVER_BUDGET.values() if v[0] == html)
    started = time.monotonic()
    with pytest.raises(TemplateError) as refused:
        check_template(TemplateSource("s", html, None))
    message = str(refused.value)
    assert message.startswith("html: over the rendering budget: "), message
    assert expected in message
    # Refused by the budget, not by running to the end (which takes minutes for most).
    assert time.monotonic() - started < email_budget.RENDER_SECONDS + 5


@pytest.mark.parametrize(
    ("html", "expected"),
    [
        ("{% for x in [1] recursive %}{{ loop([x]) }}{% endfor %}", "recursive loops"),
        ("{{ lipsum(1000000) }}", "'lipsum' is undefined"),
        ("{{ ('x'|attr('expandtabs'))(100000) }}", "str.expandtabs() is not available"),
        ("{{ 'x'.expandtabs(100000) }}", "str.expandtabs() is not available"),
        ("{% set n = namespace(a=1) %}{{ [n] }}", "namespace cannot be stored"),
        ("{% set n = namespace(a=1) %}{% set m = namespace(b=n) %}", "namespace cannot be"),
    ],
)
def test_constructs_that_escape_a_budget_are_not_available(html: str, expected: str) -> None:
    with pytest.raises(TemplateError, match=re.escape(expected)):
        check_template(TemplateSource("s", html, None))


def test_the_time_budget_stops_a_render_that_keeps_working() -> None:
    env = BudgetedSandbox(autoescape=True)
    template = env.from_string(
        "{% macro f(n) %}{% if n > 0 %}{{ f(n - 1) }}{{ f(n - 1) }}{% endif %}{% endmacro %}"
        "{{ f(40) }}"
    )
    with email_budget.activate(Budget(seconds=0.05)), pytest.raises(BudgetExceeded) as over:
        template.render()
    assert "takes longer than 0.05 s" in str(over.value)


ORDINARY = (
    "{% for i in range(3) %}{{ loop.index }}{{ loop.cycle('a', 'b') }}"
    "{% if loop.last %}!{% endif %}{% endfor %}|{{ userDisplayName|upper }}|"
    "{{ '{:,}'.format(1234567) }}|{{ '%05.1f' % 3.14159 }}|"
    "{% set ns = namespace(n=0) %}{% for i in range(5) %}{% set ns.n = ns.n + i %}"
    "{% endfor %}{{ ns.n }}|{{ [1, 2, 3]|join(', ') }}|"
    "{% for k, v in {'a': 1}.items() %}{{ k }}={{ v }}{% endfor %}|{{ 'x' ~ 'y' ~ 1 }}|"
    "{% filter upper %}done{% endfilter %}|{{ ('ab' * 3)|replace('b', 'c') }}|"
    "{% macro m(x) %}<{{ x }}>{% endmacro %}{{ m('q&') }}|{{ '<' ~ userDisplayName }}|"
    "{{ (1, 'a') }}|{{ {'k': [1]} }}|{{ 7 // 2 }} {{ 2 ** 10 }} {{ -3 }} {{ 1.5 * 2 }}"
)


def test_ordinary_templates_render_exactly_as_in_the_plain_sandbox() -> None:
    variables = {"userDisplayName": "a&b"}
    plain = ImmutableSandboxedEnvironment(autoescape=True).from_string(ORDINARY)
    email = render(TemplateSource("Hi {{ userDisplayName }}", ORDINARY, None), variables)
    assert email.html == plain.render(variables)
    assert email.html == (
        "1a2b3a!|A&amp;B|1,234,567|003.1|10|1, 2, 3|a=1|xy1|DONE|acacac|<q&amp;>|&lt;a&amp;b|"
        "(1, &#39;a&#39;)|{&#39;k&#39;: [1]}|3 1024 -3 3.0"
    )
    assert email.subject == "Hi a&b"


def test_a_large_but_reasonable_email_fits_the_budget() -> None:
    html = "{% for i in range(1000) %}<p>Row {{ i }}: {{ name }}</p>{% endfor %}"
    email = render(TemplateSource("s", html, None), {"name": "n" * 200})
    assert email.html.count("<p>Row") == 1000
