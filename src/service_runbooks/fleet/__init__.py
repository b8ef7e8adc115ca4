"""The fleet CLI's commands: render, check, update and build runbooks for many services at once.

One module per command (``render``, ``check``, ``build``; ``update`` is ``render`` with merging)
over shared helpers: ``fleetfile`` reads and validates the list, ``template`` fingerprints the
template, ``engine`` drives cookiecutter's own machinery, ``state`` keeps what was rendered.
"""
