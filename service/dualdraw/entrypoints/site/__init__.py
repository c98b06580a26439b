"""The public results site (Art. 5, 14): ``dualdraw publish site OUT_DIR`` renders static, accessible HTML."""
