"""adcli: differentiate and optimize math expressions, from the shell or from Python."""

from .errors import AdcliError
from .expr import Program
from .grad import GradResult, grad
from .parser import parse
from .scalar import Scalar

__version__ = "0.1.0"

__all__ = ["AdcliError", "GradResult", "Program", "Scalar", "__version__", "grad", "parse"]
