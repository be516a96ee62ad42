"""Words and numbers in the reader's language: one gettext catalogue (:mod:`.catalogue`),
errors translated at the edge (:mod:`.errors`) and one CLDR formatter (:mod:`.format`), used by
the web app and the CLI alike (docs/web.md, "Languages")."""
