"""Every shell script of the project is shellcheck-clean (sourced files followed)."""
import subprocess
import unittest
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


class ShellcheckTest(unittest.TestCase):
    def test_every_tracked_script_is_clean(self):
        subprocess.run([str(ROOT / "scripts/ensure-packages.sh"), "shellcheck"], check=True)
        scripts = subprocess.run(["git", "ls-files", "*.sh"], cwd=ROOT, capture_output=True,
                                 text=True, check=True).stdout.split()
        self.assertGreater(len(scripts), 10)
        result = subprocess.run(["shellcheck", "-x", *scripts], cwd=ROOT, capture_output=True, text=True)
        self.assertEqual(result.returncode, 0, result.stdout + result.stderr)


if __name__ == "__main__":
    unittest.main()
