"""The VPC flow tasks run in.

By default tasks sit in public subnets with a public IP and a security group that admits
nothing in, so no NAT gateway bills by the hour (dev). `umwi:privateNetworking` (prod)
puts them in private subnets, without public IPs, behind one NAT gateway for the sources
and Prefect Cloud, with free S3 and DynamoDB gateway endpoints so lake and ledger traffic
stays off the NAT (and its per-GB charge).
"""

from __future__ import annotations

import ipaddress

import pulumi
import pulumi_aws as aws

from umwi_stacks._config import StackConfig


class Network(pulumi.ComponentResource):
    vpc: aws.ec2.Vpc
    public_subnets: list[aws.ec2.Subnet]
    private_subnets: list[aws.ec2.Subnet]
    task_security_group: aws.ec2.SecurityGroup
    gateway_endpoints: list[aws.ec2.VpcEndpoint]

    def __init__(
        self,
        name: str,
        *,
        prefix: str,
        config: StackConfig,
        opts: pulumi.ResourceOptions | None = None,
    ) -> None:
        super().__init__("umwi:stacks:Network", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        blocks = list(ipaddress.IPv4Network(config.vpc_cidr).subnets(new_prefix=24))
        self.vpc = aws.ec2.Vpc(
            "vpc",
            cidr_block=config.vpc_cidr,
            enable_dns_hostnames=True,
            enable_dns_support=True,
            tags={**config.tags, "Name": f"{prefix}-vpc"},
            opts=child,
        )
        # The default security group of a new VPC allows all traffic between its members;
        # adopting it with no rules closes that door.
        aws.ec2.DefaultSecurityGroup(
            "vpc-default-sg",
            vpc_id=self.vpc.id,
            tags={**config.tags, "Name": f"{prefix}-default-closed"},
            opts=child,
        )
        gateway = aws.ec2.InternetGateway(
            "igw",
            vpc_id=self.vpc.id,
            tags={**config.tags, "Name": f"{prefix}-igw"},
            opts=child,
        )
        public_routes = aws.ec2.RouteTable(
            "public-routes",
            vpc_id=self.vpc.id,
            routes=[{"cidr_block": "0.0.0.0/0", "gateway_id": gateway.id}],
            tags={**config.tags, "Name": f"{prefix}-public"},
            opts=child,
        )
        self.public_subnets = []
        self.private_subnets = []
        self.gateway_endpoints = []
        for index, zone in enumerate(config.availability_zones):
            subnet = aws.ec2.Subnet(
                f"public-{index}",
                vpc_id=self.vpc.id,
                cidr_block=str(blocks[index]),
                availability_zone=zone,
                # Tasks ask for a public IP explicitly (assignPublicIp); nothing else
                # launched here should get one by accident.
                map_public_ip_on_launch=False,
                tags={**config.tags, "Name": f"{prefix}-public-{zone}"},
                opts=child,
            )
            aws.ec2.RouteTableAssociation(
                f"public-{index}-routes",
                subnet_id=subnet.id,
                route_table_id=public_routes.id,
                opts=child,
            )
            self.public_subnets.append(subnet)
        if config.private_networking:
            self._private(prefix, config, blocks, child)
        self.task_security_group = aws.ec2.SecurityGroup(
            "flow-tasks-sg",
            name=f"{prefix}-flow-tasks",
            description="umwi flow tasks: no inbound; outbound HTTPS only",
            vpc_id=self.vpc.id,
            egress=[
                {
                    "description": "HTTPS to sources, AWS APIs, ECR and Prefect Cloud",
                    "protocol": "tcp",
                    "from_port": 443,
                    "to_port": 443,
                    "cidr_blocks": ["0.0.0.0/0"],
                }
            ],
            tags={**config.tags, "Name": f"{prefix}-flow-tasks"},
            opts=child,
        )
        self.register_outputs({"vpcId": self.vpc.id})

    @property
    def task_subnets(self) -> list[aws.ec2.Subnet]:
        return self.private_subnets or self.public_subnets

    def _private(
        self,
        prefix: str,
        config: StackConfig,
        blocks: list[ipaddress.IPv4Network],
        child: pulumi.ResourceOptions,
    ) -> None:
        address = aws.ec2.Eip(
            "nat-ip",
            domain="vpc",
            tags={**config.tags, "Name": f"{prefix}-nat"},
            opts=child,
        )
        # One NAT gateway, not one per zone: a zone outage delays flows, which retry.
        nat = aws.ec2.NatGateway(
            "nat",
            allocation_id=address.id,
            subnet_id=self.public_subnets[0].id,
            tags={**config.tags, "Name": f"{prefix}-nat"},
            opts=child,
        )
        private_routes = aws.ec2.RouteTable(
            "private-routes",
            vpc_id=self.vpc.id,
            routes=[{"cidr_block": "0.0.0.0/0", "nat_gateway_id": nat.id}],
            tags={**config.tags, "Name": f"{prefix}-private"},
            opts=child,
        )
        offset = len(config.availability_zones)
        for index, zone in enumerate(config.availability_zones):
            subnet = aws.ec2.Subnet(
                f"private-{index}",
                vpc_id=self.vpc.id,
                cidr_block=str(blocks[offset + index]),
                availability_zone=zone,
                map_public_ip_on_launch=False,
                tags={**config.tags, "Name": f"{prefix}-private-{zone}"},
                opts=child,
            )
            aws.ec2.RouteTableAssociation(
                f"private-{index}-routes",
                subnet_id=subnet.id,
                route_table_id=private_routes.id,
                opts=child,
            )
            self.private_subnets.append(subnet)
        # Gateway endpoints cost nothing; the lake's bytes then bypass the NAT gateway.
        self.gateway_endpoints = [
            aws.ec2.VpcEndpoint(
                f"{service}-endpoint",
                vpc_id=self.vpc.id,
                service_name=f"com.amazonaws.{config.region}.{service}",
                vpc_endpoint_type="Gateway",
                route_table_ids=[private_routes.id],
                tags={**config.tags, "Name": f"{prefix}-{service}"},
                opts=child,
            )
            for service in ("s3", "dynamodb")
        ]
