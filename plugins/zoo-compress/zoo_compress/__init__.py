"""zoo's built-in deployment methods (``zoo.compress``) and the ``distill`` recipe."""
