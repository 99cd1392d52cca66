"""Fulian — the grassroots Women's Federation work platform (妇联工作平台)."""
