from setuptools import find_packages, setup

# themes/ is a top-level folder of the repo; the wheel carries it as arcus_tui.themes.
setup(
    packages=find_packages(include=["arcus_tui", "arcus_tui.*"]) + ["arcus_tui.themes"],
    package_dir={"arcus_tui.themes": "themes"},
)
