"""The Placement API's one route table: method, path template, handler.

Handlers that exist only from some microversion check it themselves
(:func:`virtfleet.api.placement.microversion.require`) and answer 404 before it.
"""

from __future__ import annotations

from virtfleet.api.placement.handlers import (
    aggregate,
    allocation,
    allocation_candidate,
    inventory,
    resource_class,
    resource_provider,
    root,
    trait,
    usage,
)

RP = "/resource_providers/{uuid}"

ROUTES = (
    ("GET", "/", root.home),
    ("GET", "/resource_providers", resource_provider.list_providers),
    ("POST", "/resource_providers", resource_provider.create_provider),
    ("GET", RP, resource_provider.show_provider),
    ("PUT", RP, resource_provider.update_provider),
    ("DELETE", RP, resource_provider.delete_provider),
    ("GET", RP + "/inventories", inventory.list_inventories),
    ("PUT", RP + "/inventories", inventory.replace_inventories),
    ("POST", RP + "/inventories", inventory.create_inventory),
    ("DELETE", RP + "/inventories", inventory.delete_inventories),
    ("GET", RP + "/inventories/{resource_class}", inventory.show_inventory),
    ("PUT", RP + "/inventories/{resource_class}", inventory.update_inventory),
    ("DELETE", RP + "/inventories/{resource_class}", inventory.delete_inventory),
    ("GET", RP + "/aggregates", aggregate.list_aggregates),
    ("PUT", RP + "/aggregates", aggregate.replace_aggregates),
    ("GET", RP + "/traits", trait.list_provider_traits),
    ("PUT", RP + "/traits", trait.replace_provider_traits),
    ("DELETE", RP + "/traits", trait.delete_provider_traits),
    ("GET", RP + "/usages", usage.provider_usages),
    ("GET", RP + "/allocations", allocation.list_provider_allocations),
    ("GET", "/usages", usage.project_usages),
    ("GET", "/resource_classes", resource_class.list_classes),
    ("POST", "/resource_classes", resource_class.create_class),
    ("GET", "/resource_classes/{name}", resource_class.show_class),
    ("PUT", "/resource_classes/{name}", resource_class.put_class),
    ("DELETE", "/resource_classes/{name}", resource_class.delete_class),
    ("GET", "/traits", trait.list_traits),
    ("GET", "/traits/{name}", trait.show_trait),
    ("PUT", "/traits/{name}", trait.create_trait),
    ("DELETE", "/traits/{name}", trait.delete_trait),
    ("POST", "/allocations", allocation.replace_many),
    ("GET", "/allocations/{consumer_uuid}", allocation.show_consumer),
    ("PUT", "/allocations/{consumer_uuid}", allocation.replace_consumer),
    ("DELETE", "/allocations/{consumer_uuid}", allocation.delete_consumer),
    ("GET", "/allocation_candidates", allocation_candidate.list_candidates),
)
