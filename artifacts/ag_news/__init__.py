"""This directory is the bundled default model; setuptools installs it as the package
``lstmtc.default_model`` (see pyproject.toml) so that it ships inside the wheel."""
