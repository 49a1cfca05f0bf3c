"""Environment definitions as data (morphology MJCF files, config presets), installed with
metaheb as the package ``metaheb_envs`` so that a non-editable install finds them."""
