"""service-runbooks: operational runbooks for every service, from one cookiecutter template."""
