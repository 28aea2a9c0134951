"""One report part per method, found by ``model_type`` (any other model: the plain SR part)."""
from mtsr_plugins.report.parts.base import Part
from mtsr_plugins.report.parts.sr2 import SR2Part
from mtsr_plugins.report.parts.srseg import SRSEGPart
from mtsr_plugins.report.parts.ssg_rwsr import SSGRWSRPart
from mtsr_plugins.report.parts.tad import TADPart
from mtsr_plugins.report.parts.tad_video import TADVideoPart

PARTS = {'SRSEGModel': SRSEGPart, 'SR2Model': SR2Part, 'SSGRWSRModel': SSGRWSRPart, 'TADModel': TADPart,
         'TADVideoModel': TADVideoPart}


def part_for(opt):
    """The part class for an experiment's options."""
    return PARTS.get(opt.get('model_type'), Part)
