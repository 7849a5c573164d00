"""Fenced code blocks in model replies: one parser for the research proposer, the coding
agent and the discovery generator."""

from __future__ import annotations

from assay.llm import PYTHON_TAGS, CodeBlock, code_blocks, prose

FENCE = "`" * 3


def test_language_tags_are_read_lower_cased_and_untagged_blocks_have_none():
    text = (
        f"Here it is.\n{FENCE}Python\nx = 1\n{FENCE}\n"
        f"{FENCE}diff\n--- a/p.py\n+++ b/p.py\n{FENCE}\n"
        f"{FENCE}\nplain\n{FENCE}\n"
        f"{FENCE}python title=pipeline.py\ny = 2\n{FENCE}\n"
        f"{FENCE}python:src/x.py\nz = 3\n{FENCE}"
    )
    assert code_blocks(text) == [
        CodeBlock("python", "x = 1\n"),
        CodeBlock("diff", "--- a/p.py\n+++ b/p.py\n"),
        CodeBlock("", "plain\n"),
        CodeBlock("python", "y = 2\n"),
        CodeBlock("python", "z = 3\n"),
    ]


def test_several_blocks_keep_their_order_and_can_be_filtered_by_language():
    text = (
        f"{FENCE}json\n{{}}\n{FENCE}\nthen\n{FENCE}py\na()\n{FENCE}\n"
        f"{FENCE}bash\nls\n{FENCE}\n{FENCE}python3\nb()\n{FENCE}\n{FENCE}\nc()\n{FENCE}\n"
    )
    assert [b.code for b in code_blocks(text, PYTHON_TAGS)] == ["a()\n", "b()\n", "c()\n"]
    assert [b.language for b in code_blocks(text, ["json", "bash"])] == ["json", "bash"]


def test_a_block_after_one_in_another_language_is_still_found():
    # the coding agent's old pattern took the closing fence of the bash block for an opening
    text = f"{FENCE}bash\npip list\n{FENCE}\nNow the script:\n{FENCE}python\nprint(1)\n{FENCE}\n"
    assert code_blocks(text, PYTHON_TAGS) == [CodeBlock("python", "print(1)\n")]


def test_an_unterminated_fence_is_not_a_block():
    cut = f"DESCRIPTION: deeper trees\n{FENCE}python\nimport numpy\nCONFIG = {{"
    assert code_blocks(cut) == []
    assert prose(cut) == cut
    done = f"{FENCE}diff\n@@ -1 +1 @@\n{FENCE}\nand more:\n{FENCE}python\nx = ("
    assert code_blocks(done) == [CodeBlock("diff", "@@ -1 +1 @@\n")]


def test_backticks_inside_the_code_do_not_close_the_block():
    text = f'{FENCE}python\ndoc = "{FENCE}sql"\nend = 1  # {FENCE}\n{FENCE}\n'
    assert code_blocks(text) == [CodeBlock("python", f'doc = "{FENCE}sql"\nend = 1  # {FENCE}\n')]
    longer = f"````markdown\n{FENCE}python\nx\n{FENCE}\n````\n"
    assert code_blocks(longer) == [CodeBlock("markdown", f"{FENCE}python\nx\n{FENCE}\n")]


def test_indented_fences_and_windows_line_ends_are_accepted():
    text = f"1. The code:\r\n   {FENCE}python\r\n   def f():\r\n       pass\r\n   {FENCE}\r\n"
    assert code_blocks(text) == [CodeBlock("python", "def f():\n    pass\n")]
    ragged = f"  {FENCE}\n    a\n b\n  {FENCE}"  # less indented than the fence: all of it goes
    assert code_blocks(ragged) == [CodeBlock("", "  a\nb\n")]


def test_only_newlines_split_lines_so_the_code_comes_back_as_written():
    code = 'page = "a\fb"\nsep = "\u2028"\n'
    assert code_blocks(f"{FENCE}python\n{code}{FENCE}") == [CodeBlock("python", code)]


def test_an_empty_block_and_no_blocks():
    assert code_blocks(f"{FENCE}python\n{FENCE}\n") == [CodeBlock("python", "")]
    assert code_blocks("no code here") == [] and code_blocks(None) == []
    assert code_blocks(f"inline {FENCE}x = 1{FENCE} is not a fence") == []


def test_prose_is_the_reply_without_its_blocks():
    text = f"Try this.\n{FENCE}python\nx = 1\n{FENCE}\nIt should help.\n"
    assert prose(text) == "Try this.\nIt should help.\n"
    assert prose(None) == ""
