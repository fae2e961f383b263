"""The Placement API's one route table: method, path template, handler, policy rule.

Handlers that exist only from some microversion check it themselves
(:func:`virtfleet.api.placement.microversion.require`) and answer 404 before it.
Policy rule names are Placement's own (``placement:<resource>:<action>``).
"""

from __future__ import annotations

from virtfleet.api.placement.handlers import (
    aggregate,
    allocation,
    allocation_candidate,
    inventory,
    reshaper,
    resource_class,
    resource_provider,
    root,
    trait,
    usage,
)
from virtfleet.api.wsgi import Route

RP = "/resource_providers/{uuid}"

ROUTES = (
    Route("GET", "/", root.home, "placement:root"),
    Route(
        "GET",
        "/resource_providers",
        resource_provider.list_providers,
        "placement:resource_providers:list",
    ),
    Route(
        "POST",
        "/resource_providers",
        resource_provider.create_provider,
        "placement:resource_providers:create",
    ),
    Route("GET", RP, resource_provider.show_provider, "placement:resource_providers:show"),
    Route("PUT", RP, resource_provider.update_provider, "placement:resource_providers:update"),
    Route("DELETE", RP, resource_provider.delete_provider, "placement:resource_providers:delete"),
    Route(
        "GET",
        RP + "/inventories",
        inventory.list_inventories,
        "placement:resource_providers:inventories:list",
    ),
    Route(
        "PUT",
        RP + "/inventories",
        inventory.replace_inventories,
        "placement:resource_providers:inventories:update",
    ),
    Route(
        "POST",
        RP + "/inventories",
        inventory.create_inventory,
        "placement:resource_providers:inventories:create",
    ),
    Route(
        "DELETE",
        RP + "/inventories",
        inventory.delete_inventories,
        "placement:resource_providers:inventories:delete",
    ),
    Route(
        "GET",
        RP + "/inventories/{resource_class}",
        inventory.show_inventory,
        "placement:resource_providers:inventories:show",
    ),
    Route(
        "PUT",
        RP + "/inventories/{resource_class}",
        inventory.update_inventory,
        "placement:resource_providers:inventories:update",
    ),
    Route(
        "DELETE",
        RP + "/inventories/{resource_class}",
        inventory.delete_inventory,
        "placement:resource_providers:inventories:delete",
    ),
    Route(
        "GET",
        RP + "/aggregates",
        aggregate.list_aggregates,
        "placement:resource_providers:aggregates:list",
    ),
    Route(
        "PUT",
        RP + "/aggregates",
        aggregate.replace_aggregates,
        "placement:resource_providers:aggregates:update",
    ),
    Route(
        "GET",
        RP + "/traits",
        trait.list_provider_traits,
        "placement:resource_providers:traits:list",
    ),
    Route(
        "PUT",
        RP + "/traits",
        trait.replace_provider_traits,
        "placement:resource_providers:traits:update",
    ),
    Route(
        "DELETE",
        RP + "/traits",
        trait.delete_provider_traits,
        "placement:resource_providers:traits:delete",
    ),
    Route("GET", RP + "/usages", usage.provider_usages, "placement:resource_providers:usages"),
    Route(
        "GET",
        RP + "/allocations",
        allocation.list_provider_allocations,
        "placement:resource_providers:allocations:list",
    ),
    Route("GET", "/usages", usage.project_usages, "placement:usages"),
    Route(
        "GET", "/resource_classes", resource_class.list_classes, "placement:resource_classes:list"
    ),
    Route(
        "POST",
        "/resource_classes",
        resource_class.create_class,
        "placement:resource_classes:create",
    ),
    Route(
        "GET",
        "/resource_classes/{name}",
        resource_class.show_class,
        "placement:resource_classes:show",
    ),
    Route(
        "PUT",
        "/resource_classes/{name}",
        resource_class.put_class,
        "placement:resource_classes:update",
    ),
    Route(
        "DELETE",
        "/resource_classes/{name}",
        resource_class.delete_class,
        "placement:resource_classes:delete",
    ),
    Route("GET", "/traits", trait.list_traits, "placement:traits:list"),
    Route("GET", "/traits/{name}", trait.show_trait, "placement:traits:show"),
    Route("PUT", "/traits/{name}", trait.create_trait, "placement:traits:update"),
    Route("DELETE", "/traits/{name}", trait.delete_trait, "placement:traits:delete"),
    Route("POST", "/allocations", allocation.replace_many, "placement:allocations:manage"),
    Route("POST", "/reshaper", reshaper.reshape, "placement:reshaper:reshape"),
    Route(
        "GET",
        "/allocations/{consumer_uuid}",
        allocation.show_consumer,
        "placement:allocations:list",
    ),
    Route(
        "PUT",
        "/allocations/{consumer_uuid}",
        allocation.replace_consumer,
        "placement:allocations:update",
    ),
    Route(
        "DELETE",
        "/allocations/{consumer_uuid}",
        allocation.delete_consumer,
        "placement:allocations:delete",
    ),
    Route(
        "GET",
        "/allocation_candidates",
        allocation_candidate.list_candidates,
        "placement:allocation_candidates:list",
    ),
)
