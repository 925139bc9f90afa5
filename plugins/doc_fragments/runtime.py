"""Options every module talking to a cloud VM's FlexCapsule runtime shares."""


class ModuleDocFragment:
    DOCUMENTATION = r"""
options:
  state_dir:
    description: Runtime state directory (definitions, console logs, exit statuses), shared with C(capsule).
    type: path
    default: /var/lib/flexcapsule/run
  image_store:
    description: Image store directory.
    type: path
    default: /var/lib/flexcapsule/images
"""
