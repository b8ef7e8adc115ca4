"""The fleet's work: render, check, update and build runbooks for many services at once.

One module per command (``render``, ``check``, ``build``, ``shard_indexes``, ``workflow``;
``update`` is ``render`` with merging) over shared helpers. What ``new`` shares with the fleet
lives beside this package: ``fleetfile`` reads and validates the answers, ``template_source``
fingerprints the template, ``cookiecutter_render`` drives cookiecutter's own machinery,
``cruft_state`` keeps what was rendered.
"""
