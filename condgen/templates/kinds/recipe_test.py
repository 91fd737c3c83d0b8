def test_the_example_recipe_validates():
    """The recipe shipped with the package names this plugin with valid options."""
    resolved = load_recipe(Path(__file__).resolve().parents[1] / "__RECIPE__")
    assert resolved.part(*SLOT).component.name == "__NAME__"
