# NixOS module for the Jetson Orin companion computer: the airborne binary as a
# systemd service, its locked Python environment at the toolchain's fixed path.
{ airborne, pythonEnv, targets }:
{ config, lib, pkgs, ... }:
let
  j = targets.jetson;
in
{
  hardware.nvidia-jetpack = {
    enable = true;
    som = j.som;
    carrierBoard = j.carrierBoard;
  };

  # //toolchains/python:jetson_runtime points at this path.
  systemd.tmpfiles.rules = [
    "L+ ${j.interpreterLink} - - - - ${pythonEnv}"
    "d ${j.flightRoot} 0750 gdn gdn -"
  ];

  users.users.gdn = {
    isSystemUser = true;
    group = "gdn";
    extraGroups = [ "video" "dialout" ];  # camera and the autopilot's serial port
  };
  users.groups.gdn = { };

  environment.etc."gdn/airborne.yaml".source = ../hardware/config/airborne.example.yaml;

  systemd.services.${j.serviceName} = {
    description = "gps_denied_onboard airborne navigation";
    wantedBy = [ "multi-user.target" ];
    after = [ "network.target" ];
    serviceConfig = {
      ExecStart = "${airborne}/bin/airborne run --config ${j.configPath}";
      User = "gdn";
      Restart = "on-failure";
      RestartSec = 2;
      # SIGTERM closes the flight cleanly (FDR footer clean_shutdown=true).
      KillSignal = "SIGTERM";
      TimeoutStopSec = 10;
      Nice = -5;
    };
  };
}
