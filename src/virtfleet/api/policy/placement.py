"""The Placement API's rules, with Placement's names: everything but the root document
is for admins and services (Nova's scheduler, virtfleet's own agents), as in Placement."""

from __future__ import annotations

from virtfleet.api.policy.personas import ADMIN_OR_SERVICE, ANYONE, documented

RP = "/resource_providers/{uuid}"

#: (rule name, method, path, description)
_OPERATIONS = (
    ("placement:resource_providers:list", "GET", "/resource_providers", "List resource providers."),
    (
        "placement:resource_providers:create",
        "POST",
        "/resource_providers",
        "Create a resource provider.",
    ),
    ("placement:resource_providers:show", "GET", RP, "Show a resource provider."),
    ("placement:resource_providers:update", "PUT", RP, "Update a resource provider."),
    ("placement:resource_providers:delete", "DELETE", RP, "Delete a resource provider."),
    (
        "placement:resource_providers:inventories:list",
        "GET",
        f"{RP}/inventories",
        "List inventories.",
    ),
    (
        "placement:resource_providers:inventories:create",
        "POST",
        f"{RP}/inventories",
        "Create an inventory.",
    ),
    (
        "placement:resource_providers:inventories:show",
        "GET",
        f"{RP}/inventories/{{rc}}",
        "Show an inventory.",
    ),
    (
        "placement:resource_providers:inventories:update",
        "PUT",
        f"{RP}/inventories",
        "Replace inventories.",
    ),
    (
        "placement:resource_providers:inventories:delete",
        "DELETE",
        f"{RP}/inventories",
        "Delete inventories.",
    ),
    (
        "placement:resource_providers:aggregates:list",
        "GET",
        f"{RP}/aggregates",
        "List a provider's aggregates.",
    ),
    (
        "placement:resource_providers:aggregates:update",
        "PUT",
        f"{RP}/aggregates",
        "Set a provider's aggregates.",
    ),
    (
        "placement:resource_providers:traits:list",
        "GET",
        f"{RP}/traits",
        "List a provider's traits.",
    ),
    (
        "placement:resource_providers:traits:update",
        "PUT",
        f"{RP}/traits",
        "Set a provider's traits.",
    ),
    (
        "placement:resource_providers:traits:delete",
        "DELETE",
        f"{RP}/traits",
        "Remove a provider's traits.",
    ),
    (
        "placement:resource_providers:allocations:list",
        "GET",
        f"{RP}/allocations",
        "List a provider's allocations.",
    ),
    ("placement:resource_providers:usages", "GET", f"{RP}/usages", "Show a provider's usages."),
    ("placement:resource_classes:list", "GET", "/resource_classes", "List resource classes."),
    ("placement:resource_classes:create", "POST", "/resource_classes", "Create a resource class."),
    (
        "placement:resource_classes:show",
        "GET",
        "/resource_classes/{name}",
        "Show a resource class.",
    ),
    (
        "placement:resource_classes:update",
        "PUT",
        "/resource_classes/{name}",
        "Create or update a resource class.",
    ),
    (
        "placement:resource_classes:delete",
        "DELETE",
        "/resource_classes/{name}",
        "Delete a resource class.",
    ),
    ("placement:traits:list", "GET", "/traits", "List traits."),
    ("placement:traits:show", "GET", "/traits/{name}", "Show a trait."),
    ("placement:traits:update", "PUT", "/traits/{name}", "Create a custom trait."),
    ("placement:traits:delete", "DELETE", "/traits/{name}", "Delete a custom trait."),
    (
        "placement:allocations:list",
        "GET",
        "/allocations/{consumer_uuid}",
        "List a consumer's allocations.",
    ),
    (
        "placement:allocations:update",
        "PUT",
        "/allocations/{consumer_uuid}",
        "Replace a consumer's allocations.",
    ),
    (
        "placement:allocations:delete",
        "DELETE",
        "/allocations/{consumer_uuid}",
        "Delete a consumer's allocations.",
    ),
    (
        "placement:allocations:manage",
        "POST",
        "/allocations",
        "Replace several consumers' allocations.",
    ),
    (
        "placement:allocation_candidates:list",
        "GET",
        "/allocation_candidates",
        "List allocation candidates.",
    ),
    ("placement:usages", "GET", "/usages", "Show a project's usages."),
    (
        "placement:reshaper:reshape",
        "POST",
        "/reshaper",
        "Move inventories and allocations between providers at once.",
    ),
)

RULES = [
    documented("placement:root", ANYONE, "The root document (versions).", ("GET", "/")),
    *(
        documented(name, ADMIN_OR_SERVICE, description, (method, path))
        for name, method, path, description in _OPERATIONS
    ),
]
