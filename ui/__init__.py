"""Expotion Studio desktop app (PySide6): presents a studio Session and asks studio to act."""
