"""The dashboard's page, script and stylesheet (served by ``mlvigil serve``)."""
