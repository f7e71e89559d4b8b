// The Engine API's Swarm answers (shapes of API 1.41 and 1.51) read into structs.
#include "docker/swarm_json.h"

#include <gtest/gtest.h>

namespace swarmwall::docker {
namespace {

constexpr const char* kInfoManager = R"({
  "ID": "7TRN:IPZB:QYBB:VPBQ:UWM4:YIPB:ICAT:RBUR:RMJA:OXRP:2XOY:CZVZ",
  "ServerVersion": "28.5.2+dfsg4",
  "Swarm": {
    "NodeID": "k67qz4598weg5unwwffg6z1m1",
    "NodeAddr": "10.10.10.1",
    "LocalNodeState": "active",
    "ControlAvailable": true,
    "Error": "",
    "RemoteManagers": [{"NodeID": "k67qz4598weg5unwwffg6z1m1", "Addr": "10.10.10.1:2377"}],
    "Nodes": 2, "Managers": 1,
    "Cluster": {"ID": "abajmipo7b4xz5ip2nrla6b11", "Version": {"Index": 373531}}
  }
})";

constexpr const char* kInfoOutside = R"({
  "ServerVersion": "20.10.24+dfsg1",
  "Swarm": {"NodeID": "", "NodeAddr": "", "LocalNodeState": "inactive", "ControlAvailable": false,
            "Error": "", "RemoteManagers": null}
})";

TEST(InfoSwarm, Manager) {
  std::string error;
  auto s = ParseInfoSwarm(kInfoManager, error);
  ASSERT_TRUE(s) << error;
  EXPECT_EQ(s->node_id, "k67qz4598weg5unwwffg6z1m1");
  EXPECT_EQ(s->local_node_state, "active");
  EXPECT_TRUE(s->control_available);
  auto id = NodeIdOf(*s, "unix:///d.sock", error);
  ASSERT_TRUE(id) << error;
  EXPECT_EQ(*id, "k67qz4598weg5unwwffg6z1m1");
}

TEST(InfoSwarm, NotInASwarm) {
  std::string error;
  auto s = ParseInfoSwarm(kInfoOutside, error);
  ASSERT_TRUE(s) << error;
  EXPECT_FALSE(s->control_available);
  EXPECT_FALSE(NodeIdOf(*s, "unix:///d.sock", error));
  EXPECT_EQ(error,
            "the Docker daemon at unix:///d.sock is not in a swarm (Swarm.LocalNodeState is \"inactive\"): "
            "there is no node to drain");
}

TEST(InfoSwarm, OtherStates) {
  std::string error;
  LocalSwarm s;
  s.node_id = "abc";
  for (auto [state, words] : {std::pair{"pending", "still joining"}, {"locked", "locked swarm"},
                              {"error", "in error: boom"}, {"weird", "no swarm node id"}}) {
    s.local_node_state = state;
    s.error = "boom";
    EXPECT_FALSE(NodeIdOf(s, "h", error)) << state;
    EXPECT_NE(error.find(words), std::string::npos) << error;
  }
  s.local_node_state = "active";
  s.node_id = "";
  EXPECT_FALSE(NodeIdOf(s, "h", error));
}

TEST(InfoSwarm, BadBodies) {
  std::string error;
  EXPECT_FALSE(ParseInfoSwarm("not json", error));
  EXPECT_NE(error.find("not JSON"), std::string::npos);
  EXPECT_FALSE(ParseInfoSwarm(R"({"ServerVersion": "1"})", error));
  EXPECT_NE(error.find("no Swarm section"), std::string::npos);
  // Wrong types are ignored, never thrown.
  auto s = ParseInfoSwarm(R"({"Swarm": {"NodeID": 5, "LocalNodeState": ["x"], "ControlAvailable": "yes"}})", error);
  ASSERT_TRUE(s);
  EXPECT_EQ(s->node_id, "");
  EXPECT_FALSE(s->control_available);
}

constexpr const char* kNode = R"({
  "ID": "24ifsmvkjbyhk",
  "Version": {"Index": 373531},
  "CreatedAt": "2016-08-18T10:44:24.496525531Z",
  "UpdatedAt": "2017-08-09T07:09:37.632105588Z",
  "Spec": {"Name": "my-node", "Labels": {"foo": "bar"}, "Role": "worker", "Availability": "active"},
  "Description": {"Hostname": "bf3067039e47", "Platform": {"Architecture": "x86_64", "OS": "linux"},
                  "Engine": {"EngineVersion": "20.10.24+dfsg1"}},
  "Status": {"State": "ready", "Message": "", "Addr": "10.10.10.2"}
})";

constexpr const char* kManagerNode = R"({
  "ID": "k67qz4598weg5unwwffg6z1m1",
  "Version": {"Index": 12},
  "Spec": {"Labels": {}, "Role": "manager", "Availability": "drain"},
  "Description": {"Hostname": "mgr"},
  "Status": {"State": "ready", "Addr": "10.10.10.1"},
  "ManagerStatus": {"Leader": true, "Reachability": "reachable", "Addr": "10.10.10.1:2377"}
})";

TEST(Nodes, One) {
  std::string error;
  auto n = ParseNodeBody(kNode, error);
  ASSERT_TRUE(n) << error;
  EXPECT_EQ(n->id, "24ifsmvkjbyhk");
  EXPECT_EQ(n->hostname, "bf3067039e47");
  EXPECT_EQ(n->role, "worker");
  EXPECT_EQ(n->availability, "active");
  EXPECT_EQ(n->state, "ready");
  EXPECT_EQ(n->addr, "10.10.10.2");
  EXPECT_EQ(n->manager_addr, "");
  EXPECT_EQ(n->labels, (std::map<std::string, std::string>{{"foo", "bar"}}));
}

TEST(Nodes, List) {
  std::string error;
  auto nodes = ParseNodeList(std::string("[") + kManagerNode + "," + kNode + "]", error);
  ASSERT_TRUE(nodes) << error;
  ASSERT_EQ(nodes->size(), 2u);
  EXPECT_EQ((*nodes)[0].role, "manager");
  EXPECT_EQ((*nodes)[0].availability, "drain");
  EXPECT_EQ((*nodes)[1].hostname, "bf3067039e47");
  auto empty = ParseNodeList("[]", error);
  ASSERT_TRUE(empty);
  EXPECT_TRUE(empty->empty());
}

// GET /nodes as Docker 20.10 / 28.5 answer it for `nodes: auto` (the
// fixture of agent/membership_test.cc): a leader whose Status.Addr is
// 0.0.0.0 with its address in ManagerStatus.Addr, a worker with labels (one
// empty), a node still joining (no address), a label value not a string.
constexpr const char* kMembers = R"([
 {"ID":"aaaaaaaaaaaaaaaaaaaaaaaaa","Spec":{"Role":"manager","Availability":"active","Labels":{}},
  "Description":{"Hostname":"manager-1"},"Status":{"State":"ready","Addr":"0.0.0.0"},
  "ManagerStatus":{"Leader":true,"Reachability":"reachable","Addr":"10.10.10.1:2377"}},
 {"ID":"bbbbbbbbbbbbbbbbbbbbbbbbb","Spec":{"Role":"worker","Availability":"active",
  "Labels":{"ingress":"","zone":"eu"}},
  "Description":{"Hostname":"node-1"},"Status":{"State":"ready","Addr":"10.10.10.2"}},
 {"ID":"ccccccccccccccccccccccccc","Spec":{"Role":"worker","Availability":"active","Labels":{"n":5}},
  "Description":{"Hostname":"node-9"},"Status":{"State":"unknown","Addr":""}}
])";

TEST(Nodes, AddressesAndLabelsForMembership) {
  std::string error;
  auto nodes = ParseNodeList(kMembers, error);
  ASSERT_TRUE(nodes) << error;
  ASSERT_EQ(nodes->size(), 3u);
  const SwarmNode& leader = (*nodes)[0];
  EXPECT_EQ(leader.id, "aaaaaaaaaaaaaaaaaaaaaaaaa");
  EXPECT_EQ(leader.hostname, "manager-1");
  EXPECT_EQ(leader.role, "manager");
  EXPECT_EQ(leader.state, "ready");
  EXPECT_EQ(leader.addr, "0.0.0.0");
  EXPECT_EQ(leader.manager_addr, "10.10.10.1:2377");
  EXPECT_TRUE(leader.labels.empty());
  const SwarmNode& worker = (*nodes)[1];
  EXPECT_EQ(worker.addr, "10.10.10.2");
  EXPECT_EQ(worker.manager_addr, "");
  EXPECT_EQ(worker.labels, (std::map<std::string, std::string>{{"ingress", ""}, {"zone", "eu"}}));
  const SwarmNode& joining = (*nodes)[2];
  EXPECT_EQ(joining.state, "unknown");
  EXPECT_EQ(joining.addr, "");
  EXPECT_EQ(joining.labels, (std::map<std::string, std::string>{{"n", ""}}));
}

TEST(Nodes, Bad) {
  std::string error;
  EXPECT_FALSE(ParseNodeList(R"({"message": "x"})", error));
  EXPECT_NE(error.find("not answer a list"), std::string::npos);
  EXPECT_FALSE(ParseNodeList(R"([{"Spec": {}}])", error));
  EXPECT_NE(error.find("no ID"), std::string::npos);
  EXPECT_FALSE(ParseNodeBody("<html>", error));
}

TEST(NodeUpdate, KeepsTheWholeSpec) {
  std::string error;
  auto u = ParseNodeForUpdate(kNode, error);
  ASSERT_TRUE(u) << error;
  EXPECT_EQ(u->version, 373531u);
  EXPECT_EQ(u->spec["Labels"]["foo"], "bar");
  EXPECT_EQ(u->spec["Name"], "my-node");
  EXPECT_EQ(u->spec["Availability"], "active");
}

TEST(NodeUpdate, NeedsVersionAndSpec) {
  std::string error;
  EXPECT_FALSE(ParseNodeForUpdate(R"({"ID": "x", "Spec": {}})", error));
  EXPECT_NE(error.find("Version.Index"), std::string::npos);
  EXPECT_FALSE(ParseNodeForUpdate(R"({"ID": "x", "Version": {"Index": -1}, "Spec": {}})", error));
  EXPECT_FALSE(ParseNodeForUpdate(R"({"ID": "x", "Version": {"Index": 3}})", error));
  EXPECT_NE(error.find("no Spec"), std::string::npos);
}

constexpr const char* kTasks = R"([
  {"ID": "0kzzo1i0y4jz6027t0k7aezc7", "Version": {"Index": 71}, "Name": "",
   "Spec": {"ContainerSpec": {"Image": "local/busybox:1"}},
   "ServiceID": "9mnpnzenvg8p8tdbtq4wvbkcz", "Slot": 1, "NodeID": "60gvrl6tm78dmak4yl7srz94v",
   "Status": {"Timestamp": "2016-06-07T21:07:31.290032978Z", "State": "running", "Message": "started"},
   "DesiredState": "running"},
  {"ID": "1yljwbmlr8er2waf8orvqpwms", "ServiceID": "9mnpnzenvg8p8tdbtq4wvbkcz", "Slot": 2,
   "NodeID": "60gvrl6tm78dmak4yl7srz94v", "Status": {"State": "shutdown"}, "DesiredState": "shutdown"},
  {"ID": "2abc", "ServiceID": "zzzzzzzzzzzzzzzzzzzzzzzzz", "NodeID": "60gvrl6tm78dmak4yl7srz94v",
   "Status": {"State": "running"}, "DesiredState": "shutdown"}
])";

TEST(Tasks, Parse) {
  std::string error;
  auto tasks = ParseTasks(kTasks, error);
  ASSERT_TRUE(tasks) << error;
  ASSERT_EQ(tasks->size(), 3u);
  const SwarmTask& t = (*tasks)[0];
  EXPECT_EQ(t.id, "0kzzo1i0y4jz6027t0k7aezc7");
  EXPECT_EQ(t.service_id, "9mnpnzenvg8p8tdbtq4wvbkcz");
  EXPECT_EQ(t.node_id, "60gvrl6tm78dmak4yl7srz94v");
  EXPECT_EQ(t.slot, 1);
  EXPECT_EQ(t.state, "running");
  EXPECT_EQ(t.desired_state, "running");
  EXPECT_EQ((*tasks)[2].slot, 0);
  EXPECT_FALSE(ParseTasks("{}", error));
}

TEST(Tasks, Active) {
  auto task = [](std::string state, std::string desired) {
    SwarmTask t;
    t.state = std::move(state);
    t.desired_state = std::move(desired);
    return t;
  };
  for (const char* s : {"new", "pending", "assigned", "accepted", "preparing", "ready", "starting", "running"})
    EXPECT_TRUE(TaskIsActive(task(s, "shutdown"))) << s;
  for (const char* s : {"complete", "shutdown", "failed", "rejected", "remove", "orphaned"}) {
    EXPECT_FALSE(TaskIsActive(task(s, "shutdown"))) << s;
    EXPECT_FALSE(TaskIsActive(task(s, "remove"))) << s;
    // Still wanted running on this node: not gone yet.
    EXPECT_TRUE(TaskIsActive(task(s, "running"))) << s;
  }
}

TEST(Tasks, Labels) {
  std::string error;
  auto tasks = ParseTasks(kTasks, error);
  ASSERT_TRUE(tasks);
  std::map<std::string, std::string> names = ParseServiceNames(
      R"([{"ID": "9mnpnzenvg8p8tdbtq4wvbkcz", "Version": {"Index": 19}, "Spec": {"Name": "sleepers"}},
          {"ID": "broken"}])");
  EXPECT_EQ(names.size(), 1u);
  EXPECT_EQ(TaskLabel((*tasks)[0], names), "sleepers.1 (running, desired running)");
  // A global service's task is SERVICE.NODEID; an unknown service by its short id.
  EXPECT_EQ(TaskLabel((*tasks)[2], names), "zzzzzzzzzzzz.60gvrl6tm78dmak4yl7srz94v (running, desired shutdown)");
  EXPECT_TRUE(ParseServiceNames("oops").empty());
}

TEST(Tasks, FilterQuery) {
  EXPECT_EQ(TasksOfNodeQuery("60gvrl6tm78dmak4yl7srz94v"),
            "?filters=%7B%22node%22%3A%5B%2260gvrl6tm78dmak4yl7srz94v%22%5D%7D");
  // Anything odd in an id is escaped, never passed raw into the URL.
  EXPECT_EQ(TasksOfNodeQuery("a b&c"), "?filters=%7B%22node%22%3A%5B%22a%20b%26c%22%5D%7D");
}

TEST(Errors, VersionConflict) {
  EXPECT_TRUE(IsVersionConflict(500, R"({"message":"rpc error: code = Unknown desc = update out of sequence"})"));
  EXPECT_FALSE(IsVersionConflict(500, R"({"message":"something else"})"));
  EXPECT_FALSE(IsVersionConflict(200, "update out of sequence"));
}

TEST(Errors, Worker) {
  EXPECT_TRUE(IsWorkerMessage(
      "This node is not a swarm manager. Worker nodes can't be used to view or modify cluster state. Please run "
      "this command on a manager node or promote the current node to a manager."));
  EXPECT_FALSE(IsWorkerMessage(
      "This node is not a swarm manager. Use \"docker swarm init\" or \"docker swarm join\" to connect this node "
      "to swarm and try again."));
}

}  // namespace
}  // namespace swarmwall::docker
