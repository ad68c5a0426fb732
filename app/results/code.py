"""Code blocks in an answer, and the file name each should be saved under.

Blocks are found with the renderer's parser and preset (markdown-it `js-default`), counting
fenced and indented blocks alike in document order, which is the numbering the window's
Copy/Save links use. The language is the first word of the fence's info string.
"""

from __future__ import annotations

from dataclasses import dataclass

# Common fence tags → extension. Anything else falls back to Pygments' lexer file patterns,
# then to "txt": a block is always savable, at worst as text.
_EXTENSIONS = {
    "python": "py", "py": "py", "python3": "py", "pycon": "py", "javascript": "js", "js": "js",
    "mjs": "mjs", "node": "js", "typescript": "ts", "ts": "ts", "tsx": "tsx", "jsx": "jsx",
    "html": "html", "xhtml": "html", "css": "css", "scss": "scss", "sass": "sass",
    "less": "less", "json": "json", "jsonc": "jsonc", "json5": "json5", "yaml": "yaml",
    "yml": "yaml", "toml": "toml", "ini": "ini", "xml": "xml", "svg": "svg", "sql": "sql",
    "bash": "sh", "sh": "sh", "shell": "sh", "zsh": "sh", "console": "sh", "shell-session": "sh",
    "powershell": "ps1", "ps1": "ps1", "pwsh": "ps1", "bat": "bat", "batch": "bat", "cmd": "bat",
    "c": "c", "h": "h", "cpp": "cpp", "c++": "cpp", "cxx": "cpp", "hpp": "hpp",
    "csharp": "cs", "cs": "cs", "c#": "cs", "fsharp": "fs", "java": "java", "kotlin": "kt",
    "kt": "kt", "swift": "swift", "objective-c": "m", "objc": "m", "go": "go",
    "golang": "go", "rust": "rs", "rs": "rs", "ruby": "rb", "rb": "rb", "php": "php",
    "perl": "pl", "lua": "lua", "r": "r", "julia": "jl", "dart": "dart", "scala": "scala",
    "haskell": "hs", "elixir": "ex", "erlang": "erl", "clojure": "clj", "zig": "zig",
    "vue": "vue", "svelte": "svelte", "qml": "qml", "graphql": "graphql", "proto": "proto",
    "protobuf": "proto", "markdown": "md", "md": "md", "latex": "tex", "tex": "tex",
    "csv": "csv", "tsv": "tsv", "diff": "diff", "patch": "patch", "mermaid": "mmd",
    "plantuml": "puml", "dot": "dot", "graphviz": "dot", "terraform": "tf", "hcl": "hcl",
    "nginx": "conf", "text": "txt", "txt": "txt", "plaintext": "txt", "plain": "txt",
}
# Tags whose files conventionally have a fixed name rather than an extension.
_FILENAMES = {"dockerfile": "Dockerfile", "docker": "Dockerfile", "makefile": "Makefile",
              "make": "Makefile", "cmake": "CMakeLists.txt"}


@dataclass(frozen=True, slots=True)
class CodeBlock:
    """The exact source of one code block and its language tag ("" when untagged)."""

    code: str
    language: str


def extract_code_blocks(markdown: str) -> list[CodeBlock]:
    """Every fenced and indented code block in `markdown`, in document order."""
    from markdown_it import MarkdownIt

    blocks = []
    for token in MarkdownIt("js-default").parse(markdown):
        if token.type == "fence":
            info = token.info.strip()
            blocks.append(CodeBlock(token.content, info.split(maxsplit=1)[0] if info else ""))
        elif token.type == "code_block":
            blocks.append(CodeBlock(token.content, ""))
    return blocks


def extension_for(language: str) -> str:
    """The file extension (no dot) for a fence language tag; "txt" when unknown or empty."""
    name = language.strip().lower()
    if not name:
        return "txt"
    if name in _EXTENSIONS:
        return _EXTENSIONS[name]
    from pygments.lexers import get_lexer_by_name
    from pygments.util import ClassNotFound

    try:
        patterns = get_lexer_by_name(name).filenames
    except ClassNotFound:
        return "txt"
    for pattern in patterns:  # e.g. "*.hs"; skip patterns that are whole names or globs
        ext = pattern.removeprefix("*.")
        if pattern.startswith("*.") and ext.isalnum():
            return ext
    return "txt"


def suggested_filename(language: str, number: int | None = None) -> str:
    """A default name for the Save dialog: `code.py` (`code-3.py` with a number), or
    `Dockerfile` and the like for tags whose files have a fixed name."""
    fixed = _FILENAMES.get(language.strip().lower())
    stem = "code" if number is None else f"code-{number}"
    return fixed or f"{stem}.{extension_for(language)}"
