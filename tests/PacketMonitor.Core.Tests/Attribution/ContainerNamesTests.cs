using PacketMonitor.Core.Attribution;
using Xunit;

namespace PacketMonitor.Core.Tests.Attribution;

public sealed class ContainerNamesTests
{
    private const string Id = "3f4e5a6b7c8d9e0f1a2b3c4d5e6f708192a3b4c5d6e7f8091a2b3c4d5e6f7081";

    [Theory]
    // Docker, systemd cgroup driver and cgroupfs driver.
    [InlineData("/system.slice/docker-" + Id + ".scope", "docker:3f4e5a6b7c8d")]
    [InlineData("/docker/" + Id, "docker:3f4e5a6b7c8d")]
    // Docker in docker: the inner container.
    [InlineData("/docker/" + Id + "/docker/aaaaaaaaaaaabbbbbbbbbbbbccccccccccccddddddddddddeeeeeeeeeeeeffff", "docker:aaaaaaaaaaaa")]
    // containerd (CRI) and CRI-O under Kubernetes' systemd slices.
    [InlineData("/kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod1b2c3d4e_5f60_7182_93a4_b5c6d7e8f901.slice/cri-containerd-" + Id + ".scope", "containerd:3f4e5a6b7c8d")]
    [InlineData("/kubepods.slice/kubepods-besteffort.slice/kubepods-besteffort-pod1b2c.slice/crio-" + Id + ".scope", "cri-o:3f4e5a6b7c8d")]
    [InlineData("/kubepods.slice/kubepods-pod1b2c.slice/crio-" + Id + ".scope/container", "cri-o:3f4e5a6b7c8d")]
    // Kubernetes with the cgroupfs driver: the runtime does not show in the path.
    [InlineData("/kubepods/burstable/pod1b2c3d4e-5f60-7182-93a4-b5c6d7e8f901/" + Id, "k8s:3f4e5a6b7c8d")]
    [InlineData("/kubepods/pod1b2c3d4e-5f60-7182-93a4-b5c6d7e8f901/" + Id, "k8s:3f4e5a6b7c8d")]
    // Podman: systemd driver (root and rootless) and cgroupfs driver.
    [InlineData("/machine.slice/libpod-" + Id + ".scope", "podman:3f4e5a6b7c8d")]
    [InlineData("/user.slice/user-1000.slice/user@1000.service/user.slice/libpod-" + Id + ".scope/container", "podman:3f4e5a6b7c8d")]
    [InlineData("/libpod_parent/libpod-" + Id, "podman:3f4e5a6b7c8d")]
    // LXC.
    [InlineData("/lxc.payload.web01", "lxc:web01")]
    // systemd units: the innermost service or scope.
    [InlineData("/system.slice/nginx.service", "nginx.service")]
    [InlineData("/user.slice/user-1000.slice/session-3.scope", "session-3.scope")]
    [InlineData("/user.slice/user-1000.slice/user@1000.service/app.slice/app-firefox-1234.scope", "app-firefox-1234.scope")]
    [InlineData("/init.scope", "init.scope")]
    // A container's monitor process is not the container; the unit around it is named instead.
    [InlineData("/machine.slice/libpod-conmon-" + Id + ".scope", "libpod-conmon-" + Id + ".scope")]
    // Short or non-hex ids are kept whole.
    [InlineData("/system.slice/docker-web.scope", "docker:web")]
    public void FromCgroupPath_KnownLayouts_NameTheWorkload(string path, string expected)
    {
        Assert.Equal(expected, ContainerNames.FromCgroupPath(path));
    }

    [Theory]
    [InlineData(null)]
    [InlineData("")]
    [InlineData("/")]
    [InlineData("/user.slice")]
    [InlineData("/user.slice/user-1000.slice")]
    [InlineData("/pmt-test")]
    [InlineData("/docker/not-an-id")]
    [InlineData("/" + Id)] // a bare id with no runtime above it
    public void FromCgroupPath_NoContainerOrUnit_IsNull(string? path)
    {
        Assert.Null(ContainerNames.FromCgroupPath(path));
    }

    [Theory]
    [InlineData("docker:3f4e5a6b7c8d", "docker:3f4e5a6b7c8d", true)]
    [InlineData("docker:3f4e5a6b7c8d", "3f4e5a6b7c8d", true)]
    [InlineData("docker:3f4e5a6b7c8d", "3F4E5A6B7C8D", true)]
    [InlineData("docker:3f4e5a6b7c8d", Id, true)]               // the full id docker inspect shows
    [InlineData("docker:3f4e5a6b7c8d", "3f4e5a", false)]        // no guessing from prefixes of the short id
    [InlineData("docker:3f4e5a6b7c8d", "3f4e5a6b7c8e" + "00", false)]
    [InlineData("nginx.service", "nginx.service", true)]
    [InlineData("nginx.service", "nginx", false)]
    public void Matches_UserValues(string container, string value, bool expected)
    {
        Assert.Equal(expected, ContainerNames.Matches(container, value));
    }
}
