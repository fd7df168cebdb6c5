"""The ``orq-async`` command: image edits from the shell, batches, and the local emulator.

    orq-async images edit --image mug.png --prompt "..." --model openai/gpt-image-1
    orq-async images edit-batch photos/ --prompt "..." --model openai/gpt-image-1 --out edited/
    orq-async emulator serve --port 8080

Exit codes: 0 done, 1 an API or network error, 2 a usage or input error, 130 interrupted.
Errors print one line on stderr (and a JSON object with ``--json``), never a traceback.
"""

from orq_async.cli._main import main

__all__ = ["main"]
