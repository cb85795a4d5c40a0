"""The component provider: serves phoenix-aws's components to programs in any Pulumi language.

`pulumi package add <this repository>` runs this (see PulumiPlugin.yaml): Pulumi's component
provider host reads the components' typed args and outputs to make the package schema, and
generates a TypeScript, Go, C#, Java or YAML SDK from it.
"""

from phoenix_aws import __version__, public_components
from pulumi.provider.experimental import component_provider_host

if __name__ == "__main__":
    component_provider_host(components=public_components(), name="phoenix-aws", version=__version__)
