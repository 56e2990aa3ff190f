"""docs-check must fail on a missing file, a missing make target and a missing script."""
import importlib.util
import tempfile
import unittest
from pathlib import Path

SCRIPT = Path(__file__).resolve().parents[1] / "docs-check.py"
spec = importlib.util.spec_from_file_location("docs_check", SCRIPT)
docs_check = importlib.util.module_from_spec(spec)
spec.loader.exec_module(docs_check)


class DocsCheckTest(unittest.TestCase):
    def run_on(self, markdown):
        with tempfile.NamedTemporaryFile("w", suffix=".md", dir=docs_check.ROOT, delete=False) as doc:
            doc.write(markdown)
        try:
            return docs_check.main([Path(doc.name).name])
        finally:
            Path(doc.name).unlink()

    def test_existing_names_pass(self):
        self.assertEqual(self.run_on("See `contracts/metric-record.schema.json`.\n\n```sh\nmake test\nscripts/mariadb.sh up\n```\n"), 0)

    def test_missing_file_fails(self):
        self.assertEqual(self.run_on("See `contracts/no-such-file.sql`.\n"), 1)

    def test_missing_make_target_fails(self):
        self.assertEqual(self.run_on("```sh\nmake no-such-target\n```\n"), 1)

    def test_missing_make_directory_fails(self):
        self.assertEqual(self.run_on("Run `make -C no-such-dir test`.\n"), 1)

    def test_shell_block_after_another_language_is_checked(self):
        markdown = "```mermaid\nflowchart LR\n```\n\nprose with make coffee\n\n```sh\nmake no-such-target\n```\n"
        self.assertEqual(self.run_on(markdown), 1)

    def test_prose_between_blocks_is_not_a_command(self):
        markdown = "```json\n{}\n```\n\nYou can make coffee meanwhile.\n\n```sh\nmake test\n```\n"
        self.assertEqual(self.run_on(markdown), 0)

    def test_missing_script_fails(self):
        self.assertEqual(self.run_on("```sh\nbash scripts/no-such-script.sh up\n```\n"), 1)


if __name__ == "__main__":
    unittest.main()
