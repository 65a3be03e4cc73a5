"""Explanations (importances, SHAP, reasons, the map) and the markdown report."""
