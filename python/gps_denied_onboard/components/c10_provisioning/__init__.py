"""C10 provisioning (operator only): builds a signed map cache: tiles -> descriptors -> engines -> manifest."""

from gps_denied_onboard.components.c10_provisioning.errors import ProvisioningError

__all__ = ["ProvisioningError"]
