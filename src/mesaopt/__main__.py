"""`python -m mesaopt ...` == `mesaopt-train ...`."""
from mesaopt.entry import train

train()
