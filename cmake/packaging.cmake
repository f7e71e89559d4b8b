# What `cmake --install` puts where, and the Debian package CPack makes of
# it (scripts/package.sh). CPack, not a debian/ directory: the package is made
# from the same build the tests ran on (CI tests the package it built without
# compiling swarmwall a second time); CPack runs dpkg-shlibdeps on the binary.
#
# Layout (CMAKE_INSTALL_PREFIX=/usr):
#   /usr/sbin/swarmwall
#   /lib/systemd/system/swarmwall{,-agent}.service   installed, not enabled
#   /usr/share/swarmwall/systemd/*.service.d/*.conf  the drop-ins, to copy into /etc/systemd/system
#   /etc/swarmwall/policy.example.yaml, admins.txt   conffiles (the example and its set file)
#   /usr/share/man/man8/swarmwall.8.gz               `swarmwall man`
#   /usr/share/bash-completion/completions/swarmwall `swarmwall completion bash`
#   /usr/share/swarmwall/monitoring/                 alert rules, dashboard
#   /usr/share/doc/swarmwall/                        README, docs, examples, copyright, changelog
include(GNUInstallDirs)

# `install` (and so CPack) builds only what it installs: scripts/package.sh
# builds those targets first; CI packages the release build while the unit
# tests' programs are still being built beside the lab (scripts/test.sh).
set(CMAKE_SKIP_INSTALL_ALL_DEPENDENCY ON)

set(pkg_out ${CMAKE_BINARY_DIR}/packaging)
file(MAKE_DIRECTORY ${pkg_out})

install(TARGETS swarmwall RUNTIME DESTINATION ${CMAKE_INSTALL_SBINDIR})

# The units name the binary where the package puts it.
foreach(unit swarmwall.service swarmwall-agent.service docker.service.d/10-swarmwall.conf
             nftables.service.d/10-swarmwall.conf)
  file(READ ${CMAKE_SOURCE_DIR}/deploy/systemd/${unit} text)
  string(REPLACE "/usr/local/bin/swarmwall" "/usr/sbin/swarmwall" text "${text}")
  get_filename_component(dir ${pkg_out}/systemd/${unit} DIRECTORY)
  file(MAKE_DIRECTORY ${dir})
  file(WRITE ${pkg_out}/systemd/${unit} "${text}")
endforeach()
install(FILES ${pkg_out}/systemd/swarmwall.service ${pkg_out}/systemd/swarmwall-agent.service
        DESTINATION /lib/systemd/system)
install(DIRECTORY ${pkg_out}/systemd/docker.service.d ${pkg_out}/systemd/nftables.service.d
        DESTINATION ${CMAKE_INSTALL_DATADIR}/swarmwall/systemd)
install(FILES ${CMAKE_SOURCE_DIR}/examples/swarm-cluster.yaml DESTINATION /etc/swarmwall
        RENAME policy.example.yaml)
install(FILES ${CMAKE_SOURCE_DIR}/examples/admins.txt DESTINATION /etc/swarmwall)   # the example's set file

# The manual page and the completion, made by the program from its own help.
add_custom_command(
  OUTPUT ${pkg_out}/swarmwall.8.gz ${pkg_out}/swarmwall.bash-completion
  COMMAND $<TARGET_FILE:swarmwall> man | gzip -9n > ${pkg_out}/swarmwall.8.gz
  COMMAND $<TARGET_FILE:swarmwall> completion bash > ${pkg_out}/swarmwall.bash-completion
  DEPENDS swarmwall
  COMMENT "swarmwall(8) and the bash completion from the CLI's help")
add_custom_target(swarmwall_reference ALL DEPENDS ${pkg_out}/swarmwall.8.gz ${pkg_out}/swarmwall.bash-completion)
install(FILES ${pkg_out}/swarmwall.8.gz DESTINATION ${CMAKE_INSTALL_MANDIR}/man8)
install(FILES ${pkg_out}/swarmwall.bash-completion DESTINATION ${CMAKE_INSTALL_DATADIR}/bash-completion/completions
        RENAME swarmwall)

install(FILES ${CMAKE_SOURCE_DIR}/deploy/monitoring/swarmwall-alerts.yml
              ${CMAKE_SOURCE_DIR}/deploy/monitoring/swarmwall-dashboard.json
              ${CMAKE_SOURCE_DIR}/deploy/monitoring/README.md
        DESTINATION ${CMAKE_INSTALL_DATADIR}/swarmwall/monitoring)

# Documentation; Debian wants the changelog and copyright beside it.
set(docdir ${CMAKE_INSTALL_DATADIR}/doc/swarmwall)
install(FILES ${CMAKE_SOURCE_DIR}/README.md ${CMAKE_SOURCE_DIR}/packaging/copyright DESTINATION ${docdir})
install(FILES ${CMAKE_SOURCE_DIR}/deploy/README.md DESTINATION ${docdir} RENAME README.deploy.md)
install(DIRECTORY ${CMAKE_SOURCE_DIR}/docs/ DESTINATION ${docdir}/docs)
install(DIRECTORY ${CMAKE_SOURCE_DIR}/examples/ DESTINATION ${docdir}/examples)
file(READ ${CMAKE_SOURCE_DIR}/packaging/changelog changelog)
string(REPLACE "@VERSION@" "${PROJECT_VERSION}" changelog "${changelog}")
# A native package (no Debian revision): changelog.gz, not changelog.Debian.gz.
file(WRITE ${pkg_out}/changelog "${changelog}")
add_custom_command(OUTPUT ${pkg_out}/changelog.gz
                   COMMAND gzip -9n -c ${pkg_out}/changelog > ${pkg_out}/changelog.gz
                   DEPENDS ${CMAKE_SOURCE_DIR}/packaging/changelog)
add_custom_target(swarmwall_changelog ALL DEPENDS ${pkg_out}/changelog.gz)
install(FILES ${pkg_out}/changelog.gz DESTINATION ${docdir})
install(FILES ${CMAKE_SOURCE_DIR}/packaging/lintian-overrides DESTINATION ${CMAKE_INSTALL_DATADIR}/lintian/overrides
        RENAME swarmwall)

# Not installed: links what swarmwall loads at run time, for dpkg-shlibdeps.
find_package(CURL REQUIRED)
add_executable(swarmwall_dlopen_deps EXCLUDE_FROM_ALL ${CMAKE_SOURCE_DIR}/packaging/dlopen_deps.cc)
target_link_libraries(swarmwall_dlopen_deps PRIVATE PkgConfig::NFTABLES CURL::libcurl)

set(CPACK_GENERATOR DEB)
set(CPACK_PACKAGE_NAME swarmwall)
set(CPACK_PACKAGE_VERSION ${PROJECT_VERSION})
set(CPACK_PACKAGE_CONTACT "swarmwall engineers <engineers@swarmwall.dev>")
set(CPACK_PACKAGE_DESCRIPTION_SUMMARY "host firewall for Docker and Docker Swarm nodes, applied and proven")
# The extended description only: CPack puts the summary above it.
set(CPACK_DEBIAN_PACKAGE_DESCRIPTION "swarmwall turns one declarative cluster policy (YAML) into the host
 firewall of each node of a Docker or Swarm cluster: Swarm's ports only
 from the nodes, published container ports filtered on their original
 destination, one transaction (iptables and ipset, or a native nftables
 table) that leaves the rules of Docker, firewalld and the distribution
 alone. Its agent repairs drift; its analyzer proves the result over every
 table at every hook, Docker's NAT included.")
set(CPACK_DEBIAN_FILE_NAME DEB-DEFAULT)
set(CPACK_DEBIAN_PACKAGE_SECTION admin)
set(CPACK_DEBIAN_PACKAGE_PRIORITY optional)
set(CPACK_DEBIAN_PACKAGE_HOMEPAGE "https://swarmwall.dev")
set(CPACK_DEBIAN_PACKAGE_SHLIBDEPS ON)
# The programs it runs (not seen by dpkg-shlibdeps) and, set by
# scripts/package.sh from dpkg-shlibdeps over swarmwall_dlopen_deps, the
# libraries it loads at run time.
set(SWARMWALL_DLOPEN_DEPENDS "" CACHE STRING "Depends of the libraries swarmwall loads at run time (package.sh)")
set(CPACK_DEBIAN_PACKAGE_DEPENDS "iptables, ipset, nftables, iproute2")
if(SWARMWALL_DLOPEN_DEPENDS)
  string(APPEND CPACK_DEBIAN_PACKAGE_DEPENDS ", ${SWARMWALL_DLOPEN_DEPENDS}")
endif()
set(CPACK_DEBIAN_PACKAGE_SUGGESTS "docker.io, firewalld, prometheus")
set(CPACK_DEBIAN_PACKAGE_CONTROL_EXTRA ${CMAKE_SOURCE_DIR}/packaging/conffiles ${CMAKE_SOURCE_DIR}/packaging/postrm)
set(CPACK_DEBIAN_PACKAGE_CONTROL_STRICT_PERMISSION TRUE)
set(CPACK_STRIP_FILES TRUE)
set(CPACK_PACKAGING_INSTALL_PREFIX /usr)
set(CPACK_OUTPUT_FILE_PREFIX ${CMAKE_SOURCE_DIR}/dist)
include(CPack)
