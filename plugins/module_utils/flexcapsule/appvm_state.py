"""The state model: which actions take an app VM from what it is to what was asked for.

Pure functions; the Ansible module executes the plan (or, in check mode, only reports it), so
`changed` is exactly "the plan is not empty".
"""
from .appvm import AppVmError, definition_differences

DESIRED_STATES = ("running", "stopped", "restarted", "paused", "absent")
# The lifecycle actions, in the order they are executed when a plan has several.
ACTIONS = ("stop", "remove", "define", "start", "unpause", "pause")


def observed_state(view):
    """running | paused | stopped | absent, from a runtime view (None = no such app VM)."""
    if view is None:
        return "absent"
    return view["state"] if view["state"] in ("running", "paused") else "stopped"


def merged_options(name, current, image=None, memory=None, vcpus=None, args=None, network=None):
    """Options for appvm.make_definition: what was asked for, the existing definition for the rest.

    network None keeps the existing network; an empty one (no address, gateway, mac or bridge) removes it."""
    current = current or {}
    image = image or current.get("image")
    if not image:
        raise AppVmError("app VM %r does not exist here: image is required to create it" % name)
    same_image = image == current.get("image")
    return {
        "name": name,
        "image": image,
        "memory": memory if memory is not None else (current.get("memory_mib") if same_image else None),
        "vcpus": vcpus if vcpus is not None else current.get("vcpus") or 1,
        "args": args if args is not None else current.get("args"),
        "network": network if network is not None else current.get("network"),
    }


def plan(current, desired, state, replace=False):
    """Ordered actions for `state`; raises AppVmError on a name clash unless replace is set.

    current: runtime view or None; desired: full definition (ignored for absent).
    """
    if state not in DESIRED_STATES:
        raise AppVmError("invalid state %r: use one of %s" % (state, ", ".join(DESIRED_STATES)))
    now = observed_state(current)
    if state == "absent":
        return [] if now == "absent" else (["stop", "remove"] if now != "stopped" else ["remove"])

    actions = []
    if now != "absent":
        if current.get("record_error") and not replace:
            raise AppVmError("%s, or set replace=true to recreate it" % current["record_error"])
        differences = definition_differences(current, desired)
        if differences:
            if not replace:
                raise AppVmError(
                    "name clash: app VM %r already exists with a different %s (%s); set replace=true to "
                    "recreate it" % (desired["name"], "/".join(differences), ", ".join(
                        "%s %r != %r" % (key, current.get(key), desired.get(key)) for key in differences)))
            actions += (["stop"] if now != "stopped" else []) + ["remove"]
            now = "absent"
    if now == "absent":
        actions.append("define")
        now = "stopped"

    if state == "stopped":
        if now != "stopped":
            actions.append("stop")
    elif state == "running":
        if now == "stopped":
            actions.append("start")
        elif now == "paused":
            actions.append("unpause")
    elif state == "paused":
        if now == "stopped":
            actions.append("start")
        if now != "paused":
            actions.append("pause")
    elif state == "restarted":
        if now != "stopped" and "define" not in actions:
            actions.append("stop")
        actions.append("start")
    return actions


def state_after(current_state, actions, state):
    """What the app VM will be after the plan runs (for the diff's `after`)."""
    if state == "absent":
        return "absent"
    if state == "restarted":
        return "running"
    return state if actions else current_state
