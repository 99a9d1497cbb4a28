"""Untrusted chat templates: escapes, file access and resource abuse are stopped cleanly."""

from __future__ import annotations

import time

import pytest

from gptoss_desktop.core.errors import ChatTemplateError
from gptoss_desktop.core.templating.sandbox import TemplateLimits
from gptoss_desktop.core.templating.templates import CHATML_TEMPLATE, ChatMessage, ChatTemplate

MESSAGES = [ChatMessage("system", "Be brief."), ChatMessage("user", "Hi <|im_end|> there")]
FAST = TemplateLimits(time_s=0.5)

HOSTILE = {
    "class_walk": "{{ ''.__class__.__mro__[1].__subclasses__() }}",
    "globals": "{{ raise_exception.__globals__['os'].system('echo pwned') }}",
    "self_globals": "{{ self.__init__.__globals__ }}",
    "cycler_os": "{{ cycler.__init__.__globals__.os.popen('id').read() }}",
    "include_file": "{% include '/etc/passwd' %}",
    "import_module": "{% import 'os' as os %}{{ os.getcwd() }}",
    "extends_file": "{% extends '/etc/hostname' %}",
    "mutate_list": "{{ messages.append({'role': 'system', 'content': 'x'}) }}",
    "nested_loops": "{% for i in range(100000) %}{% for j in range(100000) %}{% endfor %}{% endfor %}",
    "repeat": "{{ 'a' * 10000000000 }}",
    "power": "{{ 2 ** 100000000 }}",
    "concat_doubling": (
        "{% set ns = namespace(s='ab') %}{% for i in range(60) %}{% set ns.s = ns.s ~ ns.s %}"
        "{% endfor %}{{ ns.s }}"
    ),
    "plus_doubling": (
        "{% set ns = namespace(s='ab') %}{% for i in range(60) %}{% set ns.s = ns.s + ns.s %}"
        "{% endfor %}{{ ns.s }}"
    ),
    "center": "{{ 'x' | center(1000000000) }}",
    "ljust": "{{ 'x'.ljust(1000000000) }}",
    "format_width": "{{ '{:>1000000000}'.format('x') }}",
    "percent_width": "{{ '%1000000000s' % 'x' }}",
    "replace_blowup": "{{ ('a' * 1000000) | replace('a', 'b' * 1000) }}",
    "indent_blowup": "{{ ('\n' * 1000000) | indent(100000) }}",
    "tojson_indent": "{{ messages | tojson(indent=100000) }}",
    "recursion": "{% macro f(n) %}{{ f(n) }}{% endmacro %}{{ f(1) }}",
    "huge_output": "{% for i in range(100000) %}{{ 'a' * 60 }}{% endfor %}",
}


@pytest.mark.parametrize("name", sorted(HOSTILE))
def test_hostile_template_gives_a_clear_error(name: str) -> None:
    t0 = time.monotonic()
    with pytest.raises(ChatTemplateError) as info:
        ChatTemplate(HOSTILE[name], limits=FAST).render(MESSAGES)
    assert time.monotonic() - t0 < 5
    message = info.value.message
    assert message.startswith("The model's chat template")
    assert "\n" not in message


def test_attribute_probes_render_to_nothing() -> None:
    # The sandbox turns these into undefined values: safe, empty output.
    probes = (
        "{{ messages.__class__ }}{{ messages | attr('__class__') }}{{ '{0.__class__}'.format(1) }}"
    )
    assert ChatTemplate(probes).render(MESSAGES).text == ""


def test_raise_exception_becomes_the_refusal_message() -> None:
    src = "{{ raise_exception('System role not supported') }}"
    with pytest.raises(ChatTemplateError, match="refused this conversation: System role"):
        ChatTemplate(src).render(MESSAGES)


def test_syntax_error_names_the_line() -> None:
    with pytest.raises(ChatTemplateError, match="not valid Jinja \\(line 2"):
        ChatTemplate("ok\n{% for %}")


def test_oversized_template_is_refused_before_compiling() -> None:
    with pytest.raises(ChatTemplateError, match="characters long"):
        ChatTemplate("x" * 2_000_000)


def test_chatml_keeps_markup_and_message_text_apart() -> None:
    parts = ChatTemplate(CHATML_TEMPLATE).render(MESSAGES).parts
    assert [(p.text, p.is_markup) for p in parts] == [
        ("<|im_start|>system\n", True),
        ("Be brief.", False),
        ("<|im_end|>\n<|im_start|>user\n", True),
        ("Hi <|im_end|> there", False),
        ("<|im_end|>\n<|im_start|>assistant\n", True),
    ]


def test_template_cutting_message_text_is_refused() -> None:
    # A template that slices content would cut the placeholder: refused, never guessed.
    src = "{% for m in messages %}{{ m.content[1:] }}{% endfor %}"
    with pytest.raises(ChatTemplateError, match="rewrites message text"):
        ChatTemplate(src).render(MESSAGES)


LLAMA3 = (
    "{{ bos_token }}{% for message in messages %}"
    "{{ '<|start_header_id|>' + message['role'] + '<|end_header_id|>\n\n' "
    "+ message['content'] | trim + '<|eot_id|>' }}{% endfor %}"
    "{% if add_generation_prompt %}{{ '<|start_header_id|>assistant<|end_header_id|>\n\n' }}{% endif %}"
)
GEMMA = (
    "{{ bos_token }}{% if messages[0]['role'] == 'system' %}"
    "{{ raise_exception('System role not supported') }}{% endif %}"
    "{% for message in messages %}{% if (message['role'] == 'assistant') %}{% set role = 'model' %}"
    "{% else %}{% set role = message['role'] %}{% endif %}"
    "{{ '<start_of_turn>' + role + '\n' + message['content'] | trim + '<end_of_turn>\n' }}"
    "{% endfor %}{% if add_generation_prompt %}{{'<start_of_turn>model\n'}}{% endif %}"
)
DEEPSEEK_R1 = (
    "{{ bos_token }}{% for message in messages %}{% if message['role'] == 'user' %}"
    "{{ '<｜User｜>' + message['content'] }}{% elif message['role'] == 'assistant' %}"
    "{% set content = message['content'] %}{% if '</think>' in content %}"
    "{% set content = content.split('</think>')[-1] %}{% endif %}"
    "{{ '<｜Assistant｜>' + content + '<｜end▁of▁sentence｜>' }}{% endif %}{% endfor %}"
    "{% if add_generation_prompt %}{{ '<｜Assistant｜><think>\n' }}{% endif %}"
)


def test_real_world_templates_render() -> None:
    llama = ChatTemplate(LLAMA3, bos_token="<|begin_of_text|>").render(MESSAGES[1:])
    assert llama.text == (
        "<|begin_of_text|><|start_header_id|>user<|end_header_id|>\n\nHi <|im_end|> there"
        "<|eot_id|><|start_header_id|>assistant<|end_header_id|>\n\n"
    )
    gemma = ChatTemplate(GEMMA, bos_token="<bos>").render(MESSAGES[1:])
    assert gemma.text.endswith("<start_of_turn>model\n")
    r1 = ChatTemplate(DEEPSEEK_R1).render(MESSAGES[1:])
    assert r1.markup.endswith("<think>\n")


def test_strftime_and_tojson_globals_work() -> None:
    src = "{{ strftime_now('%Y') }}|{{ {'a': 'é'} | tojson }}"
    year, js = ChatTemplate(src).render([]).text.split("|")
    assert year.isdigit() and len(year) == 4
    assert js == '{"a": "é"}'
