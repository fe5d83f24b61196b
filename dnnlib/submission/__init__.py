from . import run_context
from . import submit
