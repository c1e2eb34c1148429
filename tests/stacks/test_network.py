"""Networking: public subnets without NAT by default, private + NAT as an option."""

from __future__ import annotations

from tests.stacks.stack import Stack


def test_dev_has_public_subnets_and_no_nat(dev: Stack) -> None:
    for stack in (dev,):
        assert stack.all("ec2/natGateway:NatGateway") == []
        assert stack.all("ec2/eip:Eip") == []
        subnets = stack.all("ec2/subnet:Subnet")
        assert sorted(s["name"] for s in subnets) == ["public-0", "public-1"]
        assert {s["inputs"]["availabilityZone"] for s in subnets} == {"eu-west-1a", "eu-west-1b"}
        for subnet in subnets:
            assert subnet["inputs"]["mapPublicIpOnLaunch"] is False
        (routes,) = stack.all("ec2/routeTable:RouteTable")
        assert routes["inputs"]["routes"] == [{"cidrBlock": "0.0.0.0/0", "gatewayId": "igw-id"}]
        network = stack.outputs["workPool"]["jobVariables"]["network_configuration"]
        assert network["assignPublicIp"] == "ENABLED"
        assert network["subnets"] == ["public-0-id", "public-1-id"]


def test_prod_flow_tasks_get_no_public_ip(prod: Stack) -> None:
    """Pulumi.prod.yaml keeps flow tasks and the worker off the internet's address space.

    Mutation: set `umwi:privateNetworking: "false"` in Pulumi.prod.yaml and this fails."""
    network = prod.outputs["workPool"]["jobVariables"]["network_configuration"]
    assert network["assignPublicIp"] == "DISABLED"
    assert network["subnets"] == ["private-0-id", "private-1-id"]
    service = prod.inputs("ecs/service:Service", "prefect-worker")
    assert service["networkConfiguration"]["assignPublicIp"] is False
    assert service["networkConfiguration"]["subnets"] == ["private-0-id", "private-1-id"]
    for subnet in prod.all("ec2/subnet:Subnet"):
        assert subnet["inputs"]["mapPublicIpOnLaunch"] is False


def test_private_option_adds_one_nat_and_moves_tasks_behind_it(dev_private: Stack) -> None:
    (nat,) = dev_private.all("ec2/natGateway:NatGateway")
    assert nat["inputs"]["subnetId"] == "public-0-id"
    assert nat["inputs"]["allocationId"] == "nat-ip-id"
    private_routes = dev_private.inputs("ec2/routeTable:RouteTable", "private-routes")
    assert private_routes["routes"] == [{"cidrBlock": "0.0.0.0/0", "natGatewayId": "nat-id"}]
    private = [s for s in dev_private.all("ec2/subnet:Subnet") if s["name"].startswith("private")]
    assert len(private) == 2
    public_cidrs = {
        s["inputs"]["cidrBlock"]
        for s in dev_private.all("ec2/subnet:Subnet")
        if s["name"].startswith("public")
    }
    assert not public_cidrs & {s["inputs"]["cidrBlock"] for s in private}
    network = dev_private.outputs["workPool"]["jobVariables"]["network_configuration"]
    assert network["assignPublicIp"] == "DISABLED"
    assert network["subnets"] == ["private-0-id", "private-1-id"]


def test_private_subnets_reach_s3_and_dynamodb_without_the_nat(
    dev: Stack, prod: Stack, dev_private: Stack
) -> None:
    """Lake and ledger traffic takes the free gateway endpoints, not the NAT (per GB)."""
    assert dev.all("ec2/vpcEndpoint:VpcEndpoint") == []
    for stack in (prod, dev_private):
        endpoints = {
            e["inputs"]["serviceName"]: e["inputs"]
            for e in stack.all("ec2/vpcEndpoint:VpcEndpoint")
        }
        assert set(endpoints) == {"com.amazonaws.eu-west-1.s3", "com.amazonaws.eu-west-1.dynamodb"}
        for endpoint in endpoints.values():
            assert endpoint["vpcEndpointType"] == "Gateway"
            assert endpoint["routeTableIds"] == ["private-routes-id"]
            assert endpoint["vpcId"] == "vpc-id"


def test_task_security_group_admits_nothing_and_sends_only_https(each_stack: Stack) -> None:
    group = each_stack.inputs("ec2/securityGroup:SecurityGroup", "flow-tasks-sg")
    assert not group.get("ingress")
    assert group["egress"] == [
        {
            "description": "HTTPS to sources, AWS APIs, ECR and Prefect Cloud",
            "protocol": "tcp",
            "fromPort": 443,
            "toPort": 443,
            "cidrBlocks": ["0.0.0.0/0"],
        }
    ]


def test_default_security_group_is_stripped(each_stack: Stack) -> None:
    default = each_stack.inputs("ec2/defaultSecurityGroup:DefaultSecurityGroup", "vpc-default-sg")
    assert not default.get("ingress")
    assert not default.get("egress")
