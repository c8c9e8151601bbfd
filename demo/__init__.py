"""The embedded demo: catalog files, principals and grants, and the builder that loads them."""
