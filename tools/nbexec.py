"""Run a notebook with nbclient in a fresh kernel, safely for lessons whose explorers use ipywidgets.Output."""

from __future__ import annotations


def quiet_output_widget_class():
    """nbclient's Output-widget mimic, minus its echo of every output back to the kernel.

    nbclient 0.11 sends that echo on the shell socket while it is awaiting the execute reply on the same socket;
    under load the reply is then sometimes never noticed and the run hangs with an idle kernel. A kernel does not
    need the echo. (Use ``store_widget_state=True``: with False the mimic raises KeyError on the first output.)
    """
    from nbclient.output_widget import OutputWidget

    class QuietOutputWidget(OutputWidget):
        def sync_state(self) -> None:
            pass

    return QuietOutputWidget


def notebook_client(nb, folder: str, timeout: int = 600):
    """An ``NotebookClient`` for ``nb`` with the quiet Output widget; the kernel runs in ``folder``."""
    from nbclient import NotebookClient

    client = NotebookClient(nb, timeout=timeout, kernel_name="python3", store_widget_state=True,
                            resources={"metadata": {"path": folder}})
    client.widget_registry = {"@jupyter-widgets/output": {"OutputModel": quiet_output_widget_class()}}
    return client
