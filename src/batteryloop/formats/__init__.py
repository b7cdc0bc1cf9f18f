"""Wire formats: Catena-X aspect models, IDTA/AAS submodels, Battery Pass consortium model."""
