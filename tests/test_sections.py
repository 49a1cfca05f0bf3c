"""metaheb.report.sections: one generated section of a page replaced, the rest kept."""

from metaheb.report.sections import section_of, splice_section

PAGE = "# T\n\nintro\n\n## A\n\na text\n\n## B\n\nb text\n"


def test_a_section_runs_from_its_heading_to_the_next():
    assert section_of(PAGE, "A") == "## A\n\na text\n\n"
    assert section_of(PAGE, "B") == "## B\n\nb text\n"
    assert section_of(PAGE, "C") is None
    assert section_of("## A\n\nfirst\n", "A") == "## A\n\nfirst\n"


def test_splicing_replaces_a_section_or_appends_it():
    assert splice_section(PAGE, "A", "## A\n\nnew\n") == PAGE.replace("a text", "new")
    assert splice_section(PAGE, "B", "## B\n\nnew b") == PAGE.replace("b text", "new b")
    assert splice_section(PAGE, "C", "## C\n\nc\n") == PAGE + "\n## C\n\nc\n"
    assert splice_section("", "C", "## C\n\nc\n") == "## C\n\nc\n"
    assert splice_section(PAGE, "A", section_of(PAGE, "A")) == PAGE
