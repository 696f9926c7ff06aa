"""The hand-labelled gold stays consistent with the articles it labels (offsets, values, pairs)."""
import subprocess
import sys

from pipeline import config


def test_gold_files_match_their_articles():
    script = config.ROOT / "tests" / "gold" / "check_gold.py"
    run = subprocess.run([sys.executable, str(script)], capture_output=True, text=True)
    assert run.returncode == 0, run.stdout + run.stderr
    assert "gold OK" in run.stdout
