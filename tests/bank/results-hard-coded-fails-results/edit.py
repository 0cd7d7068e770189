import types


def edit(notebooks):
    """The student skips training and types in plausible numbers."""
    for cell in notebooks["part3_applying"].cells:
        if "histories, results, retrainer = {}, {}, None" in cell.source:
            cell.source = (
                "initializers = {'Zeros': None, 'RandomNormal(0, 0.05)': None, 'GlorotNormal': None, 'HeNormal': None,\n"
                "                'your he_normal_init': None}\n"
                "results = {name: {'test_loss': 0.08, 'test_accuracy': 0.975} for name in initializers}\n"
                "results['Zeros'] = {'test_loss': 2.30, 'test_accuracy': 0.1135}\n"
                "fake = type('History', (), {'history': {'val_accuracy': [0.95, 0.96, 0.97, 0.97, 0.975]}})\n"
                "histories = {name: fake for name in initializers}\n"
            )
