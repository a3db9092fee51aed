"""apfctl's decision rules: APF's scheduler plugins and new ones, one pure rule each."""
